"""What the layers promise each other, declared once: Silver's tables and Gold's datasets (columns,
types, keys, partitioning), the measures, money's types, Silver's quality rules, the customer rules and
the restaurant naming rule, the records a Silver or Gold run commits, and the lake's status read from
them. The writers (transform) and the readers (the metric layer, the dashboard, `bi status`) both
import them from here, so neither depends on the other. Plain Python: reading them needs neither
Spark nor DuckDB."""
