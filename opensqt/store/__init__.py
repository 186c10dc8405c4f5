"""Persistence: SQLAlchemy tables, repositories returning model objects, and the migrations runner."""
