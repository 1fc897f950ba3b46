"""Alembic migrations of the ledger (run by ``therabill ledger db upgrade`` or on first use)."""
