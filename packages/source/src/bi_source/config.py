"""What the demo data set is made of: its size and its random seed (no heavy imports, for the CLI)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class SeedConfig:
    start: dt.date = dt.date(2023, 1, 1)
    days: int = 365
    restaurants: int = 20
    orders_per_day: float = 356.0
    seed: int = 42
