"""Metric and dimension definitions, declared once, and the compiler from a question to DuckDB SQL over Gold.

Empty until the Gold layer exists: the metric catalogue and `bi query` / `bi metrics` land with it.
"""
