"""The live match index: per-tenant rankers kept fresh from the database's change log."""
