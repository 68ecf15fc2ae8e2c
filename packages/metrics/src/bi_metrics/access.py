"""Which restaurants a reader may see, enforced where the SQL is made, never in a page.

A restricted reader's connection has order-level datasets only as views filtered to its restaurants,
and every compiled question carries the same filter. Customer-level datasets (the customer snapshot
and the CLV series) add up a customer's orders at every restaurant, so a restricted reader gets none
of them: what they would show cannot be cut to one restaurant's share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bi_lake.errors import UserError

WITHHELD = (
    "customer analytics add up each customer's orders at every restaurant, so they are not shown "
    "to a reader limited to some restaurants"
)


@dataclass(frozen=True)
class RestaurantAccess:
    """Every restaurant (`restaurants` None), or only these."""

    restaurants: frozenset[str] | None = None

    @classmethod
    def only(cls, restaurants: Iterable[str]) -> RestaurantAccess:
        return cls(frozenset(restaurants))

    @property
    def restricted(self) -> bool:
        return self.restaurants is not None

    def allowed(self) -> tuple[str, ...]:
        """The restaurants a restricted reader may see, in a stable order (for SQL and caching)."""
        if self.restaurants is None:
            raise ValueError("an unrestricted reader has no list of restaurants")
        return tuple(sorted(self.restaurants))


EVERYTHING = RestaurantAccess()


def withheld_error(what: str) -> UserError:
    return UserError(f"{what}: {WITHHELD}")
