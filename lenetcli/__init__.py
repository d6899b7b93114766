"""lenetcli: train and study LeNet-5 networks from the shell."""

__version__ = "0.2.0"
