"""The science: data, the model, the training engine, label noise and analysis. No files, no CLI."""
