"""pgcredits: a credits ledger that lives in PostgreSQL; this package wraps its SQL functions."""
