"""``check-workbook``: check returned workbooks (and Word reports) and list every discrepancy.

Its parameters are declared with ``xltool.cli.spec`` (no Typer import here): an ordinary line
runs without Typer, help and usage errors through Typer, from the same declaration. The
annotations are evaluated (no ``from __future__ import annotations``) so both can read them.
"""

from pathlib import Path
from typing import Annotated, Optional

from xltool.cli import common
from xltool.cli.common import check_choice, check_exists, check_suffix, fail, refuse_overwriting, scoring
from xltool.cli.spec import Arg, Opt
from xltool.i18n import _


def check_workbook(
    files: Annotated[list[Path], Arg(_("Returned .xlsx workbooks"))],
    fmt: Annotated[str, Opt("--format", "-f", help=_("table or json"))] = "table",
    xlsx: Annotated[Optional[Path], Opt("--xlsx", help=_("Write the 问题清单 workbook here"))] = None,
    annotate_out: Annotated[Optional[Path], Opt("--annotate", help=_("Write an annotated copy here"))] = None,
    rules_config: Annotated[Optional[Path], Opt("--rules-config", help=_("Scoring configuration TOML overriding the workbook's"))] = None,
    email: Annotated[bool, Opt("--email", help=_("E-mail the findings to the unit's 填表人"))] = False,
    to: Annotated[Optional[str], Opt("--to", help=_("Recipient instead of the workbook's e-mail address"))] = None,
    cc: Annotated[Optional[str], Opt("--cc", help=_("Additional copy recipient"))] = None,
    dry_run: Annotated[bool, Opt("--dry-run", help=_("Show what would be sent; send and write nothing"))] = False,
    resend: Annotated[bool, Opt("--resend", help=_("Send even if the same findings were sent before"))] = False,
    mail_config: Annotated[Optional[Path], Opt("--config", help=_("Mail configuration TOML (default ./xltool.toml)"))] = None,
) -> None:
    from xltool.check.run import check_files

    check_choice(fmt, "--format", ("table", "json"))
    check_exists(rules_config, "--rules-config")
    for option, path in (("--xlsx", xlsx), ("--annotate", annotate_out)):
        if path is None:
            continue
        if len(files) > 1 and path.suffix:
            fail(_("{option} {path}: with several workbooks give a folder; each workbook gets its own file there.").format(
                option=option, path=path))
        if len(files) == 1 and not path.is_dir():
            check_suffix(path, option)
    refuse_overwriting(files, xlsx, annotate_out)
    cfg = scoring(rules_config) if rules_config else None
    output = check_files(
        files, cfg=cfg, fmt=fmt, xlsx=xlsx, annotate_out=annotate_out, console=common.console,
        err_console=common.err_console,
        email=email, to=to, cc=cc, dry_run=dry_run, resend=resend, mail_config=mail_config,
    )
    raise SystemExit(output.exit_code)
