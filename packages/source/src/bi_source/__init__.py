"""The ordering app's SQL Server database: its schema and a deterministic synthetic generator for it."""
