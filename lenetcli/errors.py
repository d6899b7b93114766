"""The one exception type the CLI turns into a one-line message and exit code 2."""


class LenetError(Exception):
    """A problem with the user's input or files: the message names it and says how to fix it."""


def one_line(exc: BaseException, lines: int | None = None) -> str:
    """An exception's message as one line: its first `lines` non-empty lines (default: all),
    for quoting inside a LenetError (torch's and pandas' messages run long)."""
    parts = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(parts[:lines]) or type(exc).__name__
