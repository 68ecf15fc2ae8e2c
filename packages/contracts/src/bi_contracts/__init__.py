"""What the layers promise each other, declared once: Gold's datasets (columns, types, grain,
partitioning), money's types, the customer rules and the restaurant naming rule, and the records a
Silver or Gold run commits. The writers (transform) and the readers (the metric layer, the dashboard,
`bi status`) both import them from here, so neither depends on the other."""
