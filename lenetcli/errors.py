"""The exceptions the CLI turns into one line: bad input (exit code 2) and Ctrl-C (130); and
warnings, one line on stderr that goes on."""

import difflib
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


def unknown_choice(what: str, value: str, allowed) -> LenetError:
    """'unknown dataset 'MNIST'; did you mean 'mnist'? choose one of: mnist, ...'"""
    close = difflib.get_close_matches(str(value).lower(), list(allowed), n=1, cutoff=0.6)
    guess = f"did you mean '{close[0]}'? " if close else ""
    return LenetError(f"unknown {what} '{value}'; {guess}choose one of: {', '.join(allowed)}")


def one_line(exc: BaseException, lines: int | None = None) -> str:
    """An exception's message as one line: its first `lines` non-empty lines (default: all),
    for quoting inside a LenetError (torch's and pandas' messages run long)."""
    parts = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(parts[:lines]) or type(exc).__name__


class Interrupted(Exception):
    """Ctrl-C, once what had finished is saved: the message says what was kept and how to go on.
    The CLI prints it and exits with code 130, as a shell does for Ctrl-C."""


def warn(message: str) -> None:
    """One yellow line on stderr, shown even with --quiet: the run goes on, but the user must
    know (a diverged model, old files that could not be deleted)."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(
        f"[yellow]Warning: {escape(message)}[/]", highlight=False, soft_wrap=True
    )
