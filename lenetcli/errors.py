"""The exceptions the CLI turns into one line: bad input (exit code 2) and Ctrl-C (130); and
warnings, one line on stderr that goes on."""

import difflib


class LenetError(Exception):
    """A problem with the user's input or files: the message names it and says how to fix it."""


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
