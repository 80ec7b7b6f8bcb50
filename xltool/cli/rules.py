"""``rules`` and ``schema``: the rule catalogue and the JSON schema of ``--format json``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from xltool.cli.common import check_choice, console, fail
from xltool.i18n import _


def rules(
    code: Annotated[Optional[str], typer.Argument(help=_("A rule code, e.g. XT301"))] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_("table, json or markdown"))] = "table",
) -> None:
    from xltool.check.docs import rule_docs, rules_table

    check_choice(fmt, "--format", ("table", "json", "markdown"))
    if code:
        from xltool.check.catalogue import RULES

        rule = RULES.get(code.upper())
        if rule is None:
            fail(_('No rule {code}.').format(code=code))
        if fmt == "markdown":
            sys.stdout.write(rule_docs([rule]) + "\n")
        else:
            from rich.markdown import Markdown

            console.print(Markdown(rule_docs([rule])))
        return
    if fmt == "json":
        from xltool.check.docs import rules_json

        sys.stdout.write(rules_json() + "\n")
    elif fmt == "markdown":
        sys.stdout.write(rule_docs() + "\n")
    else:
        console.print(rules_table(console.width))


def schema() -> None:
    from xltool.report.model import json_schema

    sys.stdout.write(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")
