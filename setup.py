"""Build step beside pyproject.toml: the merged, compiled message catalogues (xltool.mo).

Every ``*.po`` under ``xltool/locale/<locale>/LC_MESSAGES/`` is merged into one ``xltool.mo`` per
locale, put into the wheel and, for an editable install, beside the .po files in the source tree
(whose modules are then also compiled to bytecode, as pip does for a regular install).
"""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _catalogs():
    spec = importlib.util.spec_from_file_location("_xltool_catalogs", HERE / "xltool" / "catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithCatalogs(build_py):
    def run(self):
        super().run()
        # An editable install runs from the source tree; a wheel from build_lib, where build_py
        # has just copied the .po files (package data).
        editable = getattr(self, "editable_mode", False)
        _catalogs().build(HERE / "xltool" / "locale" if editable else Path(self.build_lib) / "xltool" / "locale")
        if editable:
            # pip compiles a regular install's modules; an editable one runs from the source tree,
            # which would otherwise be compiled at every start under PYTHONDONTWRITEBYTECODE.
            import compileall

            compileall.compile_dir(str(HERE / "xltool"), quiet=1)

    def get_outputs(self, *args, **kwargs):
        outputs = list(super().get_outputs(*args, **kwargs))
        if not getattr(self, "editable_mode", False):
            base = Path(self.build_lib) / "xltool" / "locale"
            outputs += [str(p.parent / "xltool.mo") for p in base.glob("*/LC_MESSAGES")]
        return outputs


setup(cmdclass={"build_py": BuildPyWithCatalogs})
