"""The exit codes of the checking commands (check-workbook, check-report, audit), in one place.

A script or scheduled task tells from the code alone whether to look at the results:

0  every input was checked and nothing must be fixed;
1  every input was checked and something must be fixed (a 必须修改 finding; in an audit also
   a template returned blank);
2  a usage error (a missing file, a wrong option, the output folder in use or full), or not
   one input could be checked;
3  done, but some inputs could not be checked (unreadable, a PDF or photo, not the template):
   the others were checked and each of those is listed with the reason. 3 wins over 1: the
   listed files need someone whatever the findings are.
"""

from __future__ import annotations

from enum import IntEnum

from xltool.i18n import _


class ExitCode(IntEnum):
    CLEAN = 0
    FINDINGS = 1
    NOT_DONE = 2
    SOME_UNREADABLE = 3


def exit_codes_help() -> str:
    """The sentence the commands' --help ends with."""
    return _("Exit codes: 0 every file checked, nothing to fix; 1 something must be fixed; 2 usage error or no file "
             "could be checked; 3 some files could not be checked (listed with the reason), the others were.")
