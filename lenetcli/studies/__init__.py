"""Studies: settings over seeds, planned into jobs, run by an executor, recorded by a ledger."""
