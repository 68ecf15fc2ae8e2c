"""Gold: the pre-aggregated datasets the contracts declare (`bi_contracts.gold`), built from Silver."""
