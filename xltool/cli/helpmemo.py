"""``xltool --help`` and each command's help as Typer drew them the first time, from the cache.

The help Typer and rich draw is a pure function of the code (xltool's, Typer's, rich's,
click's, Python's), the command line, the language, and what rich and Typer read from the
environment and the streams: whether each stream is a terminal, its encoding and error handler,
the terminal's size, COLUMNS, LINES, TERM, COLORTERM, NO_COLOR, FORCE_COLOR, TTY_COMPATIBLE,
TTY_INTERACTIVE (``rich.console.Console``), TERMINAL_WIDTH, GITHUB_ACTIONS, PY_COLORS,
_TYPER_FORCE_DISABLE_TERMINAL, TYPER_USE_RICH (``typer.rich_utils``, ``typer.core``). All of
it is the key. The first help for a key runs Typer exactly as without this module while the
bytes it writes to stdout and stderr are recorded in order, with its exit code; they are stored
in the derived cache (``xltool.cache``, named by a digest of the key, the key kept inside and
compared). A later run with the same key writes those bytes and exits with that code without
importing Typer or rich. Whatever cannot be keyed for certain (Windows' console, Jupyter, shell
completion, a stream that is not an ordinary one, a command line other than command names and a
final ``--help``) runs Typer only; so does a cache that cannot be written or an entry that is
damaged (it is drawn and stored again).

So a command's help must stay a function of its declaration: a help or default drawn from
anything else (today's date, a file, a setting) would need that in the key too.
"""

from __future__ import annotations

import os
import sys

# What rich's Console, typer.rich_utils and typer.core read from the environment, what chooses
# the catalogue (xltool's, and gettext's for any text click or Typer translate themselves), and
# what can make Python print warnings while Typer imports.
ENVIRONMENT = (
    "COLUMNS", "LINES", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
    "TERMINAL_WIDTH", "_TYPER_FORCE_DISABLE_TERMINAL", "GITHUB_ACTIONS", "PY_COLORS", "TYPER_USE_RICH",
    "XLTOOL_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "PYTHONWARNINGS",
)
LIBRARIES = ("typer", "rich", "click")  # their sources are part of the key (an upgrade draws anew)


def memoable(argv: list[str]) -> bool:
    """Whether *argv* asks for help in a shape keyed exactly: no argument at all (the root's
    help), or up to two command names followed by one ``--help``."""
    if not argv:
        return True
    return argv[-1] == "--help" and len(argv) <= 3 and all(_command_name(word) for word in argv[:-1])


def _command_name(word: str) -> bool:
    """A command's name (``check-workbook``): lower-case ASCII letters, digits, "-" and "_",
    starting with a letter; never a path, an option or a value."""
    return (0 < len(word) <= 64 and word.isascii() and word[0].isalpha() and word == word.lower()
            and word.replace("-", "").replace("_", "").isalnum())


def key(argv: list[str]) -> str | None:
    """Everything the help for *argv* depends on, as text; None when it cannot be keyed for
    certain here."""
    import builtins
    import io

    environ = os.environ
    if os.name == "nt" or hasattr(builtins, "get_ipython") or not memoable(argv):
        return None  # Windows' console features, Jupyter: rich asks more than this module reads
    if any(name.startswith("_TYPER_") and name != "_TYPER_FORCE_DISABLE_TERMINAL" or name.endswith("_COMPLETE")
           for name in environ):
        return None  # shell completion, Typer's test switches
    streams = []
    for stream in (sys.stdout, sys.stderr):
        buffer = getattr(stream, "buffer", None)
        if type(stream) is not io.TextIOWrapper or buffer is None:
            return None
        try:
            streams.append(f"{stream.encoding}:{stream.errors}:{stream.isatty()}")
        except (ValueError, OSError):  # closed
            return None
    from xltool import cache

    libraries = _library_stamp()
    if libraries is None:
        return None
    parts = [
        "xltool-help-1", "\0".join(argv), cache.code_stamp(), libraries,
        sys.version, sys.platform, repr(sys.flags), repr(sys.warnoptions), repr(sorted(sys._xoptions.items())),
        *streams, repr(_terminal_size()),
        *(f"{name}={environ.get(name)!r}" for name in ENVIRONMENT),
    ]
    return "\n".join(parts)


def _library_stamp() -> str | None:
    """A digest of the names, sizes and times of Typer's, rich's and click's sources, as the
    import system would find them; None when one of the first two is not found that way."""
    from importlib.machinery import PathFinder

    from xltool import cache

    paths = []
    for name in LIBRARIES:
        spec = PathFinder.find_spec(name)
        locations = getattr(spec, "submodule_search_locations", None)
        if not locations:
            if name == "click":
                continue  # Typer ≥ 0.20 carries its own copy of click
            return None
        for folder in locations:
            for dirpath, dirnames, filenames in os.walk(folder):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                paths += (os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return cache.files_stamp(paths)


def _terminal_size():
    """The size rich asks the terminal for: the first of stdin, stdout, stderr that answers."""
    for stream, fd in ((sys.__stdin__, 0), (sys.__stdout__, 1), (sys.__stderr__, 2)):
        try:
            fd = stream.fileno()
        except Exception:  # noqa: BLE001 - rich falls back to the standard numbers too
            pass
        try:
            return tuple(os.get_terminal_size(fd))
        except (AttributeError, ValueError, OSError):
            continue
    return None


def _name(text: str) -> str:
    from xltool.digests import sha256  # not hashlib: OpenSSL's import would cost the memo milliseconds

    return f"help/{sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


def run(argv: list[str]) -> None:
    """The help for *argv* from the memo, or from Typer recorded into it; returns (having
    printed nothing) only when *argv* cannot be keyed, for the caller to run Typer."""
    text = key(argv)
    if text is None:
        return
    from xltool import cache

    name = _name(text)
    entry = cache.load(name)
    if (type(entry) is tuple and len(entry) == 3 and entry[0] == text and type(entry[2]) is int
            and type(entry[1]) is list and all(type(c) is tuple and len(c) == 2 and c[0] in (1, 2)
                                               and type(c[1]) is bytes for c in entry[1])):
        _replay(entry[1], entry[2])
    if not cache.writable():
        return
    _record(argv, text, name)


def _replay(chunks: list[tuple[int, bytes]], code: int) -> None:
    try:
        for fd, data in chunks:
            stream = sys.stdout if fd == 1 else sys.stderr
            stream.flush()
            stream.buffer.write(data)
            stream.buffer.flush()
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        # As click ends on a closed pipe: exit 1, nothing more said at the interpreter's exit.
        sys.stdout, sys.stderr = _Pacified(sys.stdout), _Pacified(sys.stderr)
        sys.exit(1)
    sys.exit(code)


class _Pacified:
    def __init__(self, stream) -> None:
        self._stream = stream

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            pass

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class _Tee:
    """The binary side of a text stream: writes go to the stream's own buffer and are noted."""

    def __init__(self, target, fd: int, chunks: list) -> None:
        self._target, self._fd, self._chunks = target, fd, chunks

    def write(self, data) -> int:
        data = bytes(data)
        written = self._target.write(data)
        if not data:
            return 0
        if self._chunks and self._chunks[-1][0] == self._fd:
            self._chunks[-1] = (self._fd, self._chunks[-1][1] + data)
        else:
            self._chunks.append((self._fd, data))
        return len(data) if written is None else written

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        pass  # the stream's own buffer stays open: it is sys.stdout's again afterwards

    @property
    def closed(self) -> bool:
        return self._target.closed


def _record(argv: list[str], text: str, name: str) -> None:
    """Run Typer with stdout and stderr noted; store what it wrote when it ends as the help
    ends (exit 0, or the root's own help with no argument); raise its exit."""
    import io

    from xltool import cache
    from xltool.console import tolerant_streams

    tolerant_streams()  # as registry does at import: the streams' error handler is set first
    chunks: list[tuple[int, bytes]] = []
    originals = sys.stdout, sys.stderr
    wrapped = []
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        stream.flush()
        wrapped.append(io.TextIOWrapper(_Tee(stream.buffer, fd, chunks), encoding=stream.encoding,
                                        errors=stream.errors, newline=None if os.name == "nt" else "\n",
                                        line_buffering=stream.line_buffering, write_through=stream.write_through))
    sys.stdout, sys.stderr = wrapped
    from xltool.cli.registry import run

    code = None
    try:
        run()
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
        raise
    finally:
        for stream in wrapped:
            try:
                stream.flush()
            except (OSError, ValueError):
                code = None
        if sys.stdout is wrapped[0] and sys.stderr is wrapped[1]:  # else click has set them (a closed pipe)
            sys.stdout, sys.stderr = originals
            for stream in wrapped:
                stream.detach()  # the tee only: the streams' own buffers stay open
            if type(code) is int and (code == 0 or not argv):
                cache.store(name, (text, chunks, code))
