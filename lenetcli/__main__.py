"""`python -m lenetcli` is the same as `lenet`."""

from lenetcli.cli import run

run()
