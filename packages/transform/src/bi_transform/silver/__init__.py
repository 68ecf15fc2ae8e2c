"""Silver: Bronze conformed, checked and modelled into dimensions and facts (METRICS.md §2-§3)."""
