"""Named points where a test may kill the running process (crash-safety tests).

``XLTOOL_KILL_AT=<stage>[:<n>]`` makes the process SIGKILL itself the n-th time (default the
first) it reaches ``point(<stage>)``: the kill test of the outbox runs a real ``xltool``
process and stops it at every stage of mailing, with no cooperation from the code beyond
naming the stage. Unset (always, outside tests), ``point`` is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_seen: dict[str, int] = {}


def point(stage: str) -> None:
    spec = os.environ.get("XLTOOL_KILL_AT")
    if not spec:
        return
    name, _sep, count = spec.partition(":")
    if name != stage:
        return
    _seen[stage] = _seen.get(stage, 0) + 1
    if _seen[stage] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
