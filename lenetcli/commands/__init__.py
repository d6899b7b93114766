"""The commands' work: lenet train, sweep, noise, confusion, hardsamples and report."""
