"""`python -m lenetcli` is the same as `lenet`."""

from lenetcli.cli import app

app(prog_name="lenet")
