"""Thin entrypoints for AWS Glue: parse the job's arguments, then call the package."""
