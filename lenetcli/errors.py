"""The exceptions the CLI turns into one line: bad input (exit code 2) and Ctrl-C (130, or
128 + the signal's number for SIGTERM and SIGHUP); and warnings, one line on stderr that goes
on."""

import difflib
import errno
import signal
import unicodedata


class LenetError(Exception):
    """A problem with the user's input or files: the message names it and says how to fix it.

    The message is one line whatever it quotes: a newline, tab or other control character in
    the input it names (a value typed over two lines, a file name) is shown escaped, as \\n.
    """

    def __init__(self, message: str):
        super().__init__(escape_controls(str(message)))


def escape_controls(text: str) -> str:
    """text with every control, format or surrogate character written as Python escapes it
    ('\\n', '\\x00', '\\u2028'), so that it prints as one line of visible characters."""
    return "".join(
        char.encode("unicode_escape").decode("ascii") if hidden(char) else char for char in text
    )


def hidden(char: str) -> bool:
    # Cc: controls (newlines, tab, NUL); Cf: format (zero-width, direction marks, BOM); Cs:
    # surrogates (undecodable bytes of a file name); Zl, Zp: the line and paragraph separators
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def unknown_choice(what: str, value: str, allowed, several: str = "") -> LenetError:
    """'unknown dataset 'MNIST'; did you mean 'mnist'? choose one of: mnist, ...'; a list of
    allowed values where one is taken says so, and `several` where else to give them."""
    items = [item.strip() for item in str(value).split(",")]
    if len(items) > 1 and all(item in allowed for item in items):  # a list, where one is taken
        return LenetError(
            f"one {what} is taken here, not the list '{value}'; choose one of them"
            + (f" ({several})" if several else "")
        )
    close = difflib.get_close_matches(str(value).lower(), list(allowed), n=1, cutoff=0.6)
    guess = f"did you mean '{close[0]}'? " if close else ""
    return LenetError(f"unknown {what} '{value}'; {guess}choose one of: {', '.join(allowed)}")


def one_line(exc: BaseException, lines: int | None = None) -> str:
    """An exception's message as one line: its first `lines` non-empty lines (default: all),
    for quoting inside a LenetError (torch's and pandas' messages run long)."""
    parts = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(parts[:lines]) or type(exc).__name__


# What to do about the OS errors a user can meet: a full disk, a long name, a read-only disk.
OS_ERROR_FIXES = {
    getattr(errno, name): fix
    for name, fix in [
        ("ENOSPC", "free space or choose another --out"),
        ("EDQUOT", "free space or choose another --out"),
        ("EROFS", "choose another --out"),
        ("ENAMETOOLONG", "shorten it: a file or folder name may have at most 255 bytes"),
        ("EACCES", "check its permissions, or choose another path"),
        ("EPERM", "check its permissions, or choose another path"),
        ("ENOENT", "check the path"),
    ]
    if hasattr(errno, name)  # Windows lacks EDQUOT
}


def os_failure(exc: OSError, path=None, doing: str = "") -> LenetError:
    """An OSError as one line, naming the path: 'no space left on device writing PATH; free
    space or choose another --out', or, where lenet does not know what it was doing, 'file
    name too long: PATH; shorten it: ...'."""
    path = path if path is not None else exc.filename
    reason = exc.strerror or one_line(exc)
    reason = reason[:1].lower() + reason[1:]  # the errno text, as the system words it
    where = "" if path is None else (f" {doing} {path}" if doing else f": {path}")
    fix = OS_ERROR_FIXES.get(exc.errno, "check the path and the disk")
    return LenetError(f"{reason}{where}; {fix}")


def os_error_behind(exc: BaseException) -> OSError | None:
    """The OSError an exception stands for: itself, or the one torch.save met while writing to
    a file object (it raises a RuntimeError 'enforce fail at inline_container.cc' instead,
    raised while handling the OSError); None for any other exception."""
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, RuntimeError) and isinstance(exc.__context__, OSError):
        return exc.__context__
    return None


def stop_signals() -> list[int]:
    """The signals lenet treats as Ctrl-C: SIGINT itself, SIGTERM (what kill, systemd, Slurm
    and Docker send) and SIGHUP (a closed terminal or ssh session). Windows has no SIGHUP."""
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM, SIGHUP), once what had finished is saved: the message says what was
    kept and how to go on. The CLI prints it and exits with 128 + the signal's number (130 for
    Ctrl-C), as a shell reports a program a signal stopped."""


def warn(message: str) -> None:
    """One yellow line on stderr, shown even with --quiet: the run goes on, but the user must
    know (a diverged model, old files that could not be deleted)."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(
        f"[yellow]Warning: {escape(message)}[/]", highlight=False, soft_wrap=True
    )
