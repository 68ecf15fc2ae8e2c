"""The metric layer: every metric and dimension declared once (`catalogue`), the compiler from a question
to DuckDB SQL over Gold, the engine that runs it, and how values read. Gold's own declarations are the
contracts' (`bi_contracts.gold`)."""
