"""The one exception type the CLI turns into a one-line message and exit code 2."""


class LenetError(Exception):
    """A problem with the user's input or files: the message names it and says how to fix it."""
