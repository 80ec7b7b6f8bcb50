"""A form pack checked together with the review rules that will read it (``xltool forms check``)."""

from __future__ import annotations

from pathlib import Path

from xltool.i18n import _


def validate_file(path: Path):
    """Load *path* (its base, if it extends one, from the registered packs) and lay it out with
    its rules: (pack, form), or PackError."""
    from xltool.form.pack import PackError, Problem
    from xltool.form.registry import load_file

    pack = load_file(Path(path), check_layout=True)
    form = pack.trial
    problems = rule_problems(pack)
    if problems:
        raise PackError(str(path), [Problem(_("review rules"), None, p) for p in problems])
    return pack, form


def rule_problems(pack) -> list[str]:
    """Fields the review rules need that the pack lacks (the rules read figures by id)."""
    from xltool.check.instances import _checks_for_form

    try:
        _checks_for_form(pack.trial, pack.scoring)
    except KeyError as exc:
        return [_("the review rules need the field {id}, which this pack does not declare").format(id=exc.args[0])]
    return []
