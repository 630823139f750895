"""The ledger: every run and every provider call, in a local SQLite file."""
