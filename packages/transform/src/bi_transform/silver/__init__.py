"""Silver: Bronze conformed, checked and modelled into dimensions and facts (docs/metrics.md, *Quality
rules* and *Building blocks*)."""
