"""What lenet writes and shows: atomic files and folders, checkpoints, figures, tables, progress."""
