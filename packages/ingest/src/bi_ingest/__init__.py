"""Extraction from the ordering database (any SQLAlchemy URL) into the Bronze layer."""
