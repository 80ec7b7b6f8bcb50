"""The xlwings scripts the server exposes at ``/xlwings/custom-scripts-call/{name}``.

``xlwings.server.script`` registers a function only with a licence key (see ``licence``);
the server refuses to start if the registration is missing rather than serve nothing.
"""

from __future__ import annotations

from xltool.addin.licence import ensure_licence

ensure_licence()

import xlwings as xw  # noqa: E402
from xlwings.server import script  # noqa: E402

from xltool.addin.remote import run_remote  # noqa: E402
from xltool.i18n import _  # noqa: E402


@script(name=_("Check this workbook"))
def check_workbook(book: xw.Book) -> None:
    """检查本表: check the values, mark the cells, refresh the 审核 list."""
    run_remote(book)


def registered() -> dict[str, object]:
    """Script function name → function, for the names the endpoint may call."""
    return {name: fn for name, fn in globals().items() if callable(fn) and hasattr(fn, "__xlscript__")}
