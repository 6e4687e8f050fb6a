"""Pydantic request/response shapes, kept apart from the database tables."""
