"""Gold: the pre-aggregated datasets the metrics package declares, built from Silver."""
