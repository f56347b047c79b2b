"""Alembic migrations of Miz's schema; run them with ``miz db upgrade`` (see ``storage.migrate``)."""
