"""A deterministic generator of the ordering database, with the quirks of the real one at its rates.

The same configuration and seed give the same rows in the same order, so the same database file, byte
for byte. The simulation works day by day: how many orders a day gets (weekday, month and holiday
seasonality), which customers place them (a population with a long tail of one-time customers and a
core of regulars, joining and churning over time), then what each order holds (lines, add-ons,
discounts), and last the data problems real exports carry.

The rows are written a month at a time, so seeding takes about the same memory for a year as for a
month; they are the rows drawing the whole year at once would give (see the generator's position below).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import holidays
import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from bi_source.catalogue import (
    APPS,
    CITIES_BY_UTC_OFFSET,
    JUNK_CATEGORIES,
    MENU,
    OPTION_GROUPS,
    PROMO_GROUP,
    RESTAURANT_NAME_KINDS,
    RESTAURANT_NAME_PLACES,
    TEST_APP,
)
from bi_source.config import SeedConfig
from bi_source.schema import date_dim, order_item_options, order_items
from bi_source.schema import restaurants as restaurants_table

Array = npt.NDArray[Any]

# The real data's rates, declared once; the tests measure the generated data against them.
GUEST_ORDER_RATE = 0.09
TEST_APP_ORDER_RATE = 0.004
LOYALTY_MEMBER_RATE = 0.35
LOYALTY_SWITCH_RATE = 0.18
DISCOUNT_ORDER_RATE = 0.04
DUPLICATE_OPTION_RATE = 0.01
JUNK_CATEGORY_RATE = 0.003
NAME_VARIANT_RATE = 0.025
MALFORMED_PER_LINE = 3e-5  # each of: NULL lineitem_id, NULL item_name, quantity 0
ORPHAN_OPTIONS_PER_LINE = 4e-5
LATE_ARRIVAL_RATE = 0.01  # extra orders for the days just before an append, as a share of the new ones
LATE_ARRIVAL_DAYS = 2  # how far back (whole days before the previous last day) late rows reach

EXTRA_LINES_MEAN = 0.55  # lines per order = 1 + Poisson(this)
CUSTOMERS_PER_DAILY_ORDER = 130.0  # population size relative to the daily order volume
EXISTING_CUSTOMER_SHARE = 0.4  # of the population, already customers before the first day
LOYAL_FOREVER_SHARE = 0.45  # customers who never churn; the others churn after ~CHURN_MEAN_DAYS
CHURN_MEAN_DAYS = 200.0
HOME_RESTAURANT_SHARE = 0.85
STAFF_TEST_ACCOUNTS = 5

_WEEKDAY_FACTOR = (0.86, 0.9, 0.95, 1.0, 1.18, 1.24, 1.07)  # Monday .. Sunday
_HOLIDAY_FACTOR = {
    "Thanksgiving Day": 0.45,
    "Christmas Day": 0.35,
    "New Year's Day": 0.7,
    "Independence Day": 1.3,
    "Memorial Day": 1.15,
    "Labor Day": 1.1,
}
_OTHER_HOLIDAY_FACTOR = 1.05
_CHRISTMAS_EVE_FACTOR = 0.7


@dataclass
class SeedSummary:
    order_lines: int = 0
    option_rows: int = 0
    date_rows: int = 0
    restaurant_rows: int = 0
    orders: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    late_lines: int = 0


ProgressCallback = Callable[[str, int], None]


def _hex_ids(rng: np.random.Generator, count: int) -> list[str]:
    """`count` ids of 24 lowercase hex characters."""
    text = rng.bytes(12 * count).hex()
    return [text[i : i + 24] for i in range(0, 24 * count, 24)]


def _hex_id_array(rng: np.random.Generator, count: int) -> Array:
    """`_hex_ids` as one array of bytes, the same draws."""
    return np.frombuffer(rng.bytes(12 * count).hex().encode(), dtype="S24")


def restaurant_utc_offset(restaurant_id: str) -> int:
    """Hours the restaurant's local time lies behind UTC (US time zones), fixed by its id."""
    return 5 + int(hashlib.sha256(restaurant_id.encode()).hexdigest()[:8], 16) % 4


def restaurant_trend(restaurant_id: str) -> float:
    """Yearly growth of the restaurant's volume, between -25% and +35%, fixed by its id."""
    return -0.25 + 0.6 * (int(hashlib.sha256(restaurant_id.encode()).hexdigest()[8:16], 16) % 1000) / 999


def _id_number(restaurant_id: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{restaurant_id}".encode()).hexdigest()[:12], 16)


def restaurant_rows(restaurant_ids: list[str], opened_before: dt.date) -> list[dict[str, Any]]:
    """The reference row of each restaurant: a name (unique among them), a city in its time zone, and
    an opening date before `opened_before`.

    Fixed by the ids alone, not drawn from the seeded stream, so adding the table left every order of a
    given seed as it was; names that would repeat take the next free combination, in id order.
    """
    combinations = len(RESTAURANT_NAME_PLACES) * len(RESTAURANT_NAME_KINDS)
    taken: set[str] = set()
    places_taken: set[int] = set()
    rows = []
    for restaurant_id in sorted(restaurant_ids):
        first_place = _id_number(restaurant_id, "place")
        first_kind = _id_number(restaurant_id, "kind")
        # A place not used yet first, so a small chain does not read as one family of names.
        fresh_place = len(places_taken) < len(RESTAURANT_NAME_PLACES)
        name, place = "", 0
        for step in range(2 * combinations):
            place = (first_place + step) % len(RESTAURANT_NAME_PLACES)
            kind = (first_kind + step // len(RESTAURANT_NAME_PLACES)) % len(RESTAURANT_NAME_KINDS)
            name = f"{RESTAURANT_NAME_PLACES[place]} {RESTAURANT_NAME_KINDS[kind]}"
            if name not in taken and (place not in places_taken or not fresh_place or step >= combinations):
                break
        if name in taken:
            name = f"{name} {restaurant_id[:4]}"
        taken.add(name)
        places_taken.add(place)
        cities = CITIES_BY_UTC_OFFSET[restaurant_utc_offset(restaurant_id)]
        city, region = cities[_id_number(restaurant_id, "city") % len(cities)]
        opened = opened_before - dt.timedelta(days=30 + _id_number(restaurant_id, "opened") % 3000)
        rows.append(
            {
                "restaurant_id": restaurant_id,
                "name": name,
                "city": city,
                "region": region,
                "opened_on": opened,
            }
        )
    return rows


def day_factor(day: dt.date, us_holidays: holidays.HolidayBase) -> float:
    """Relative order volume of a day: weekday, a mild summer peak, and holidays."""
    factor = _WEEKDAY_FACTOR[day.weekday()] * 7 / sum(_WEEKDAY_FACTOR)
    factor *= 1.0 + 0.08 * np.sin(2 * np.pi * (day.timetuple().tm_yday - 105) / 365.25)
    name = us_holidays.get(day)
    if name is not None and "observed" not in name:
        factor *= _HOLIDAY_FACTOR.get(name, _OTHER_HOLIDAY_FACTOR)
    if day.month == 12 and day.day == 24:
        factor *= _CHRISTMAS_EVE_FACTOR
    return float(factor)


@dataclass
class Restaurants:
    ids: list[str]
    weights: Array  # relative size


@dataclass
class Population:
    """Customers as parallel arrays; day numbers count from the simulation's day 0.

    Ids and card digits are numpy bytes, not lists of str: a third of the memory for the ids and a tenth
    for the digits, which counts at a hundred times the default size (millions of customers).
    """

    user_ids: Array  # UTF-8
    weight: Array
    active_from: Array
    active_until: Array
    home: Array
    loyal: Array
    card4: Array  # the loyalty card's last four digits

    def __len__(self) -> int:
        return len(self.user_ids)

    def user_id(self, customer: int) -> str:
        return str(self.user_ids[customer].decode())

    def card_digits(self, customer: int) -> str:
        return str(self.card4[customer].decode())

    @classmethod
    def empty(cls) -> Population:
        return cls(
            np.zeros(0, dtype="S24"),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=bool),
            np.zeros(0, dtype="S4"),
        )

    def extend(self, other: Population) -> Population:
        return Population(
            np.concatenate([self.user_ids, other.user_ids]),
            np.concatenate([self.weight, other.weight]),
            np.concatenate([self.active_from, other.active_from]),
            np.concatenate([self.active_until, other.active_until]),
            np.concatenate([self.home, other.home]),
            np.concatenate([self.loyal, other.loyal]),
            np.concatenate([self.card4, other.card4]),
        )


_HOME_BLOCK = 1 << 16  # customers per block of the customers x restaurants matrix


def _home_restaurants(
    draws: Array, joined: Array, restaurants: Restaurants, trend_at: Callable[[Array], Array]
) -> Array:
    """Each new customer's restaurant, found in proportion to its size and its trend when they join
    (`draws` uniform in [0, 1)). A block of customers at a time: all of them at once would make a matrix
    of customers by restaurants several times the size of the population."""
    home = np.empty(len(draws), dtype=np.int64)
    for begin in range(0, len(draws), _HOME_BLOCK):
        block = slice(begin, begin + _HOME_BLOCK)
        cumulative = np.cumsum(restaurants.weights[None, :] * trend_at(np.maximum(joined[block], 0)), axis=1)
        home[block] = (cumulative < (draws[block] * cumulative[:, -1])[:, None]).sum(axis=1)
    return home


def _new_customers(
    rng: np.random.Generator,
    count: int,
    joined_from: float,
    joined_to: float,
    restaurants: Restaurants,
    trend_at: Callable[[Array], Array],
) -> Population:
    active_from = rng.uniform(joined_from, joined_to, count)
    churns = rng.random(count) >= LOYAL_FOREVER_SHARE
    lifetime = rng.exponential(CHURN_MEAN_DAYS, count)
    home = _home_restaurants(rng.random(count), active_from, restaurants, trend_at)
    active_until = np.where(churns, np.maximum(active_from, 0) + lifetime, np.inf)
    return Population(
        user_ids=_hex_id_array(rng, count),
        weight=rng.lognormal(0.0, 1.1, count),
        active_from=active_from,
        active_until=active_until,
        home=home,
        loyal=rng.random(count) < LOYALTY_MEMBER_RATE,
        card4=np.char.zfill(rng.integers(0, 10_000, count).astype("S4"), 4),
    )


# --- the generator's position -------------------------------------------------------------------------
#
# The data is defined by one generator drawing in one sequence: every day's orders, then the ids of all
# the orders, then each per-order or per-line quantity for all the orders or lines before the next. To
# write a month at a time and still give the same rows, each of those runs of draws gets its own copy of
# the generator, set where the single generator was when that run began; numpy draws one value after
# another, so drawing a run a month at a time gives the same values as drawing it at once. Finding where
# a run begins means making the draws before it, in blocks of bounded size, and keeping none of them.

State = Mapping[str, Any]  # a bit generator's state, as numpy gives and takes it
Draw = Callable[[np.random.Generator, int], Any]

_BLOCK = 1 << 16  # values per draw when a run is only passed over: a few MB, even as ids


def _generator_at(state: State) -> np.random.Generator:
    bit_generator: np.random.BitGenerator = np.random.PCG64()  # what default_rng uses
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _blocks(count: int) -> Iterator[int]:
    """Sizes of the bounded blocks that make `count` values."""
    for begin in range(0, count, _BLOCK):
        yield min(_BLOCK, count - begin)


def _pass_over(rng: np.random.Generator, draw: Draw, count: int) -> None:
    """Move `rng` past `count` values of `draw`, as drawing them at once would: even none, since numpy
    draws 32 bits for no random bytes at all."""
    for size in _blocks(count) if count else (0,):
        draw(rng, size)


# --- the orders ---------------------------------------------------------------------------------------


def _shares(weights: list[float]) -> Array:
    """`weights` as shares of their sum, numpy's (its rounding of the sum is part of the data)."""
    array = np.array(weights)
    return np.asarray(array / array.sum())


_APP_WEIGHTS = _shares([weight for _, weight in APPS])


@dataclass
class _World:
    """What the simulated days draw from: the restaurants, the customers and the staff's test accounts."""

    restaurants: Restaurants
    population: Population
    trend_at: Callable[[Array], Array]
    staff_ids: list[str]

    def __post_init__(self) -> None:
        self.utc_offsets = np.array([restaurant_utc_offset(rid) for rid in self.restaurants.ids])


@dataclass
class _Orders:
    """One row per order, in time order."""

    time_ms: Array
    restaurant: Array
    customer: Array  # -1 guest, -2 staff
    app: Array  # -1 the test app
    staff: Array

    def __len__(self) -> int:
        return len(self.time_ms)

    @classmethod
    def joined(cls, parts: list[_Orders]) -> _Orders:
        """Consecutive days' orders as one run, still in time order."""
        return cls(
            *(
                np.concatenate([getattr(part, name) for part in parts])
                for name in ("time_ms", "restaurant", "customer", "app", "staff")
            )
        )


def _simulate_day(
    rng: np.random.Generator,
    world: _World,
    day: dt.date,
    number: int,
    orders_per_day: float,
    us_holidays: holidays.HolidayBase,
) -> _Orders:
    """The orders of one day (day `number` of the simulation): who places them, where, when, with what."""
    population = world.population
    count = int(rng.poisson(orders_per_day * day_factor(day, us_holidays)))
    kind = rng.random(count)
    is_test = kind < TEST_APP_ORDER_RATE
    is_guest = ~is_test & (kind < TEST_APP_ORDER_RATE + GUEST_ORDER_RATE)
    is_customer = ~is_test & ~is_guest
    active = np.flatnonzero((population.active_from <= number) & (population.active_until > number))
    customer = np.full(count, -1, dtype=np.int64)
    customer[is_test] = -2
    n_customer_orders = int(is_customer.sum())
    if n_customer_orders and active.size:
        weights = population.weight[active]
        customer[is_customer] = active[
            np.searchsorted(np.cumsum(weights), rng.random(n_customer_orders) * weights.sum())
        ]
    else:
        customer[is_customer] = -1
    size = world.restaurants.weights * world.trend_at(np.array([float(number)]))[0]
    any_restaurant = np.searchsorted(np.cumsum(size), rng.random(count) * size.sum())
    goes_home = (customer >= 0) & (rng.random(count) < HOME_RESTAURANT_SHARE)
    restaurant = np.where(goes_home, population.home[np.maximum(customer, 0)], any_restaurant)
    # Lunch and dinner peaks in local time; the simulated day is the UTC day.
    peak = rng.random(count)
    local_hour = np.where(
        peak < 0.45,
        rng.normal(12.3, 0.9, count),
        np.where(peak < 0.9, rng.normal(18.5, 1.2, count), rng.uniform(7, 22, count)),
    )
    utc_hour = np.mod(np.clip(local_hour, 6.0, 23.99) + world.utc_offsets[restaurant], 24.0)
    time_ms = (day - dt.date(1970, 1, 1)).days * 86_400_000 + (utc_hour * 3_600_000).astype(np.int64)
    app = np.where(is_test, -1, rng.choice(len(APPS), count, p=_APP_WEIGHTS))
    staff = rng.integers(0, STAFF_TEST_ACCOUNTS, count)
    # Every time falls within its own UTC day, so sorting each day puts the whole batch in time order.
    order = np.argsort(time_ms, kind="stable")
    return _Orders(
        time_ms[order], restaurant.astype(np.int64)[order], customer[order], app[order], staff[order]
    )


@dataclass
class _OrderPlan:
    """A batch of simulated days, kept as where its draws begin and what they add up to, not as orders."""

    days: list[dt.date]
    first_day_number: int
    orders_per_day: float
    us_holidays: holidays.HolidayBase
    days_start: State  # the days' draws, one day after another
    ids_start: State = field(default_factory=dict)  # then the ids of all the batch's orders
    count: int = 0
    per_customer: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _simulated_days(
    rng: np.random.Generator, world: _World, plan: _OrderPlan
) -> Iterator[tuple[dt.date, _Orders]]:
    for offset, day in enumerate(plan.days):
        number = plan.first_day_number + offset
        yield day, _simulate_day(rng, world, day, number, plan.orders_per_day, plan.us_holidays)


_CHUNK_ORDERS = 20_000  # orders written at once at most, unless a single day has more: some tens of MB


def _month_chunks(days: Iterator[tuple[dt.date, _Orders]]) -> Iterator[_Orders]:
    """Consecutive days' orders a calendar month at a time, or fewer days when a month has more than
    _CHUNK_ORDERS orders (a day at least): bounded memory, and the draws made for many days at once."""
    pending: list[_Orders] = []
    pending_orders = 0
    month = (0, 0)
    for day, orders in days:
        if pending and ((day.year, day.month) != month or pending_orders + len(orders) > _CHUNK_ORDERS):
            yield _Orders.joined(pending)
            pending, pending_orders = [], 0
        pending.append(orders)
        pending_orders += len(orders)
        month = (day.year, day.month)
    if pending:
        yield _Orders.joined(pending)


def _plan_orders(
    rng: np.random.Generator, world: _World, days: list[dt.date], first_day_number: int, orders_per_day: float
) -> _OrderPlan:
    """Simulate the days once to count the orders (in all, and per customer), keeping none of them."""
    plan = _OrderPlan(
        days,
        first_day_number,
        orders_per_day,
        holidays.country_holidays("US", years=sorted({day.year for day in days})),
        rng.bit_generator.state,
        per_customer=np.zeros(len(world.population), dtype=np.int64),
    )
    for _, orders in _simulated_days(rng, world, plan):
        plan.count += len(orders)
        customers = orders.customer[orders.customer >= 0]
        plan.per_customer += np.bincount(customers, minlength=len(world.population))
    plan.ids_start = rng.bit_generator.state
    _pass_over(rng, _hex_ids, plan.count)
    return plan


def _order_ids_at(plan: _OrderPlan, numbers: set[int]) -> dict[int, str]:
    """The ids of the batch's orders with these numbers (in time order, from 0)."""
    rng = _generator_at(plan.ids_start)
    found: dict[int, str] = {}
    begin = 0
    for size in _blocks(plan.count):
        ids = _hex_ids(rng, size)
        found.update((number, ids[number - begin]) for number in numbers if begin <= number < begin + size)
        begin += size
    return found


# --- loyalty ------------------------------------------------------------------------------------------


@dataclass
class _Loyalty:
    """Each order's loyalty flag: its customer's status, which a switcher changes at one of its orders."""

    loyal: Array  # per customer, for those who do not switch
    cut: Array  # per customer: the first order (counted from 0) with the new status; -1 for no switch
    joins: Array  # per customer: whether the switch is into the programme

    def flags(self, customers: Array, seen: Array) -> Array:
        """The flags of these orders, given how many orders of each customer came before (`seen`,
        updated)."""
        flags = np.zeros(len(customers), dtype=bool)
        has_customer = np.flatnonzero(customers >= 0)
        ids = customers[has_customer]
        rank = seen[ids] + _occurrence(ids)
        np.add.at(seen, ids, 1)
        cut = self.cut[ids]
        switched = np.where(rank >= cut, self.joins[ids], ~self.joins[ids])
        flags[has_customer] = np.where(cut >= 0, switched, self.loyal[ids])
        return flags


def _occurrence(values: Array) -> Array:
    """For each value, how many times it came earlier in `values`."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(values)]))
    result = np.empty(len(values), dtype=np.int64)
    result[order] = np.arange(len(values)) - group_start
    return result


def _plan_loyalty(
    rng: np.random.Generator, per_customer: Array, population: Population, switch_rate: float
) -> _Loyalty:
    """Who changes loyalty status in the batch, and at which of their orders.

    `switch_rate` of the customers seen change status between two of their orders (mostly joining the
    programme, sometimes leaving it); only customers with two or more orders can. A switcher keeps the
    new status in `population` for the batches that follow.
    """
    seen = np.flatnonzero(per_customer)  # the customers with orders, in customer order
    repeaters = np.flatnonzero(per_customer[seen] >= 2)
    wanted = min(repeaters.size, round(switch_rate * seen.size))
    switching = np.sort(rng.choice(repeaters, size=wanted, replace=False)) if wanted else repeaters[:0]
    loyalty = _Loyalty(
        population.loyal.copy(), np.full(len(population), -1, dtype=np.int64), np.zeros(len(population), bool)
    )
    for customer in seen[switching]:
        loyalty.cut[customer] = int(rng.integers(1, per_customer[customer]))
        loyalty.joins[customer] = rng.random() < 0.7  # most switchers join the programme; some leave it
        population.loyal[customer] = loyalty.joins[customer]
    return loyalty


# --- the lines ----------------------------------------------------------------------------------------

_MENU_WEIGHTS = _shares([item.popularity for item in MENU])
_OPTION_CHANCE = np.array([item.option_chance for item in MENU])

# The draws behind the lines, in the generator's order, each over all the batch's orders or lines.
_LINE_DRAWS: tuple[tuple[str, str, Draw], ...] = (
    ("extra_lines", "order", lambda rng, n: np.minimum(rng.poisson(EXTRA_LINES_MEAN, n), 7)),
    ("item", "line", lambda rng, n: rng.choice(len(MENU), n, p=_MENU_WEIGHTS)),
    ("quantity", "line", lambda rng, n: rng.choice([1, 2, 3], n, p=[0.86, 0.11, 0.03])),
    ("jitter", "line", lambda rng, n: rng.integers(50, 800, n)),
    ("line_id", "line", _hex_ids),
    ("junk", "line", lambda rng, n: rng.random(n) < JUNK_CATEGORY_RATE),
    ("junk_value", "line", lambda rng, n: rng.integers(0, len(JUNK_CATEGORIES), n)),
    ("variant", "line", lambda rng, n: rng.random(n) < NAME_VARIANT_RATE),
    ("variant_kind", "line", lambda rng, n: rng.integers(0, 5, n)),
    ("option_draw", "line", lambda rng, n: rng.random(n)),  # options when below the item's chance
    ("extra_option", "line", lambda rng, n: rng.random(n) < 0.3),
    ("discounted", "order", lambda rng, n: rng.random(n) < DISCOUNT_ORDER_RATE),
)


@dataclass
class _LinePlan:
    """Where each of the line draws begins, how many lines there are, and which ones are malformed."""

    starts: dict[str, State]
    count: int
    null_line_id: frozenset[int]
    null_name: frozenset[int]
    zero_quantity: frozenset[int]


def _plan_lines(rng: np.random.Generator, order_count: int) -> _LinePlan:
    """Pass over each of the line draws, noting where it begins, then draw which lines are malformed."""
    starts: dict[str, State] = {}
    line_count = order_count
    for name, unit, draw in _LINE_DRAWS:
        starts[name] = rng.bit_generator.state
        if name == "extra_lines":  # the first draw, which sets how many lines the others are over
            line_count += sum(int(draw(rng, size).sum()) for size in _blocks(order_count))
        else:
            _pass_over(rng, draw, order_count if unit == "order" else line_count)
    malformed = max(1, round(line_count * MALFORMED_PER_LINE)) if line_count >= 1000 else 0
    broken = (
        rng.choice(line_count, size=3 * malformed, replace=False) if malformed else np.zeros(0, dtype=int)
    )
    return _LinePlan(
        starts,
        line_count,
        frozenset(broken[:malformed].tolist()),
        frozenset(broken[malformed : 2 * malformed].tolist()),
        frozenset(broken[2 * malformed :].tolist()),
    )


@dataclass
class _Chunk:
    """A chunk of days' orders and their lines, with everything their rows are made of."""

    orders: _Orders
    order_ids: list[str]
    loyalty: Array
    first_line: int  # the batch's number of the chunk's first line
    line_order: Array  # each line's order, within the chunk
    line_rank: Array  # each line's place within its order
    draws: dict[str, Any]  # each of _LINE_DRAWS, per order or per line
    quantity: Array  # as written: 0 on the lines whose quantity is malformed

    def __len__(self) -> int:
        return len(self.line_order)


def _chunks(world: _World, orders: _OrderPlan, lines: _LinePlan, loyalty: _Loyalty) -> Iterator[_Chunk]:
    """The batch a month (or fewer days) at a time, each run of draws continued from where the previous
    chunk left it."""
    days = _generator_at(orders.days_start)
    ids = _generator_at(orders.ids_start)
    runs = {name: _generator_at(state) for name, state in lines.starts.items()}
    seen = np.zeros(len(world.population), dtype=np.int64)
    first_line = 0
    for chunk_orders in _month_chunks(_simulated_days(days, world, orders)):
        n_orders = len(chunk_orders)
        if not n_orders:
            continue  # no draws to make, and ids must not be drawn for none (see _pass_over)
        draws: dict[str, Any] = {}
        n_lines = 0
        for name, unit, draw in _LINE_DRAWS:
            draws[name] = draw(runs[name], n_orders if unit == "order" else n_lines)
            if name == "extra_lines":
                n_lines = n_orders + int(draws[name].sum())
        lines_per_order = 1 + draws["extra_lines"]
        line_rank = np.arange(n_lines) - np.repeat(
            np.cumsum(lines_per_order) - lines_per_order, lines_per_order
        )
        quantity = draws["quantity"].copy()
        quantity[_positions(lines.zero_quantity, first_line, n_lines)] = 0
        yield _Chunk(
            chunk_orders,
            _hex_ids(ids, n_orders),
            loyalty.flags(chunk_orders.customer, seen),
            first_line,
            np.repeat(np.arange(n_orders), lines_per_order),
            line_rank,
            draws,
            quantity,
        )
        first_line += n_lines


def _positions(numbers: frozenset[int], first: int, count: int) -> list[int]:
    """Which of the `count` lines numbered from `first` are among `numbers`, counted from 0."""
    return [number - first for number in numbers if first <= number < first + count]


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def _line_rows(chunk: _Chunk, world: _World, plan: _LinePlan) -> list[dict[str, Any]]:
    """The order_items rows of a chunk, quirks included."""
    orders, draws = chunk.orders, chunk.draws
    # Lines of one order are stamped a few hundred milliseconds apart.
    jitter = chunk.line_rank * draws["jitter"]
    times = (orders.time_ms[chunk.line_order] + jitter).astype("datetime64[ms]").astype(object)
    rows: list[dict[str, Any]] = []
    for index in range(len(chunk)):
        number = chunk.first_line + index
        o = int(chunk.line_order[index])
        menu_item = MENU[int(draws["item"][index])]
        customer = int(orders.customer[o])
        is_loyal = bool(chunk.loyalty[o])
        qty = int(chunk.quantity[index])
        name: str | None = menu_item.name
        if draws["variant"][index]:
            name = _name_variant(menu_item.name, int(draws["variant_kind"][index]))
        if number in plan.null_name:
            name = None
        user_id = None
        if customer >= 0:
            user_id = world.population.user_id(customer)
        elif customer == -2:
            user_id = world.staff_ids[int(orders.staff[o])]
        rows.append(
            {
                "app_name": TEST_APP if orders.app[o] < 0 else APPS[int(orders.app[o])][0],
                "restaurant_id": world.restaurants.ids[int(orders.restaurant[o])],
                "creation_time_utc": times[index],
                "order_id": chunk.order_ids[o],
                "user_id": user_id,
                "printed_card_number": "************" + world.population.card_digits(customer)
                if is_loyal
                else None,
                "is_loyalty": is_loyal,
                "currency": "USD",
                "lineitem_id": None if number in plan.null_line_id else draws["line_id"][index],
                "item_category": JUNK_CATEGORIES[int(draws["junk_value"][index])]
                if draws["junk"][index]
                else menu_item.category,
                "item_name": name,
                "item_price": _cents(menu_item.unit_cents * qty),
                "item_quantity": qty,
            }
        )
    return rows


def _option_rows(rng: np.random.Generator, chunk: _Chunk) -> list[dict[str, Any]]:
    """The add-ons and discounts of a chunk's lines, drawn from `rng` line by line; no export quirks yet."""
    draws = chunk.draws
    has_options = draws["option_draw"] < _OPTION_CHANCE[draws["item"]]
    options: list[dict[str, Any]] = []
    for index in range(len(chunk)):
        o = int(chunk.line_order[index])
        menu_item = MENU[int(draws["item"][index])]
        qty = int(chunk.quantity[index])
        order_id, line_id = chunk.order_ids[o], draws["line_id"][index]
        if has_options[index] and qty > 0:
            # Two add-ons on one line are two different add-ons: the only exact copies are the export's.
            choices = [
                (group, option) for group in menu_item.option_groups for option in OPTION_GROUPS[group]
            ]
            picks = rng.choice(len(choices), size=2 if draws["extra_option"][index] else 1, replace=False)
            for pick in picks:
                group, (option_name, option_cents) = choices[int(pick)]
                options.append(
                    {
                        "order_id": order_id,
                        "lineitem_id": line_id,
                        "option_group_name": group,
                        "option_name": option_name,
                        "option_price": _cents(option_cents),
                        "option_quantity": 1 if rng.random() < 0.9 else 2,
                    }
                )
        if chunk.line_rank[index] == 0 and draws["discounted"][o] and qty > 0:
            options.append(
                {
                    "order_id": order_id,
                    "lineitem_id": line_id,
                    "option_group_name": PROMO_GROUP,
                    **_promo(rng, menu_item.unit_cents * qty, bool(chunk.loyalty[o])),
                    "option_quantity": 1,
                }
            )
    return options


def _name_variant(name: str, kind: int) -> str:
    return (name.upper(), name.lower(), f"  {name}", f"{name} ", f" {name.lower()} ")[kind]


def _promo(rng: np.random.Generator, price_cents: int, is_loyal: bool) -> dict[str, Any]:
    choices: list[tuple[str, int]] = [("10% off", -round(price_cents * 0.10))]
    if price_cents >= 400:
        choices.append(("$2 off", -200))
    if price_cents >= 1500:
        choices.append(("$5 off", -500))
    if is_loyal and price_cents >= 600:
        choices.append(("Loyalty Reward", -300))
    name, cents = choices[int(rng.integers(0, len(choices)))]
    return {"option_name": name, "option_price": _cents(cents)}


# --- the export's quirks in the options: exact duplicates and orphans --------------------------------


def _duplicated(rng: np.random.Generator, count: int) -> Array:
    return rng.random(count) < DUPLICATE_OPTION_RATE


def _copies(rng: np.random.Generator, count: int) -> Array:
    return rng.choice([1, 2, 3], count, p=[0.7, 0.2, 0.1])


def _plan_orphans(
    rng: np.random.Generator, length: int, line_count: int, orders: _OrderPlan
) -> list[tuple[int, dict[str, Any]]]:
    """The orphan rows, each with its place in the batch's final list of `length` option rows before them."""
    count = max(1, round(line_count * ORPHAN_OPTIONS_PER_LINE)) if line_count >= 1000 and orders.count else 0
    line_ids = _hex_ids(rng, count)
    targets: list[int | str] = []
    places: list[int] = []
    for number in range(count):
        # Half point into a real order at a line it does not have; half at an order that does not exist.
        targets.append(int(rng.integers(0, orders.count)) if number % 2 == 0 else _hex_ids(rng, 1)[0])
        # Each goes in among the rows and the orphans before it, moving those at and after its place.
        place = int(rng.integers(0, length + 1))
        places = [earlier + 1 if earlier >= place else earlier for earlier in places] + [place]
        length += 1
    order_ids = _order_ids_at(orders, {target for target in targets if isinstance(target, int)})
    return [
        (
            place,
            {
                "order_id": order_ids[target] if isinstance(target, int) else target,
                "lineitem_id": line_id,
                "option_group_name": "Toppings",
                "option_name": "Extra Cheese",
                "option_price": _cents(100),
                "option_quantity": 1,
            },
        )
        for place, target, line_id in zip(places, targets, line_ids, strict=True)
    ]


class _OptionQuirks:
    """Exact duplicates (~1% of rows, up to three extra copies) and a few orphans, added to the option
    rows as they stream past in order.

    Made where the generator stands after the options' own draws, once all of them are made; it leaves the
    generator past the batch's last draw. Orphans go in at random places of the whole list, duplicates
    included, so their places are worked out before the first row is written.
    """

    def __init__(
        self, rng: np.random.Generator, option_count: int, line_count: int, orders: _OrderPlan
    ) -> None:
        duplicated_start = rng.bit_generator.state
        _pass_over(rng, _duplicated, option_count)
        copies_start = rng.bit_generator.state
        _pass_over(rng, _copies, option_count)
        length = option_count + _copies_added(duplicated_start, copies_start, option_count)
        # The next orphan last, to pop.
        self._orphans = sorted(
            _plan_orphans(rng, length, line_count, orders), key=lambda o: o[0], reverse=True
        )
        self._duplicated = _generator_at(duplicated_start)
        self._copies = _generator_at(copies_start)
        self._written = 0

    def add(self, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The next rows of the list: these options in order, their copies and the orphans among them."""
        result: list[dict[str, Any]] = []
        duplicated = _duplicated(self._duplicated, len(options))
        copies = _copies(self._copies, len(options))
        for index, row in enumerate(options):
            self._append(result, row)
            if duplicated[index]:
                for _ in range(int(copies[index])):
                    self._append(result, dict(row))
        return result

    def rest(self) -> list[dict[str, Any]]:
        """The orphans placed after the last option."""
        rows = [row for _, row in reversed(self._orphans)]
        self._orphans.clear()
        return rows

    def _append(self, result: list[dict[str, Any]], row: dict[str, Any]) -> None:
        while self._orphans and self._orphans[-1][0] == self._written:
            result.append(self._orphans.pop()[1])
            self._written += 1
        result.append(row)
        self._written += 1


def _copies_added(duplicated_start: State, copies_start: State, option_count: int) -> int:
    """How many copies the duplicates add to `option_count` option rows."""
    duplicated, copies = _generator_at(duplicated_start), _generator_at(copies_start)
    added = 0
    for size in _blocks(option_count):
        # Both for every row, as the generator draws them: which rows are copied, then how many times.
        is_copied = _duplicated(duplicated, size)
        added += int(_copies(copies, size)[is_copied].sum())
    return added


def _write_batch(
    connection: sa.Connection,
    rng: np.random.Generator,
    world: _World,
    orders: _OrderPlan,
    switch_rate: float,
    progress: ProgressCallback,
) -> tuple[int, int]:
    """Write a batch's order lines, then its option rows, a month at a time; the number of each.

    The rows are those the generator would give drawing the whole batch at once, in the same order, and
    `rng` ends where it would. The options' draws are made twice: the duplicates and orphans are drawn
    after all of them, so where those draws begin is known only once every day's options have been drawn.
    """
    loyalty = _plan_loyalty(rng, orders.per_customer, world.population, switch_rate)
    lines = _plan_lines(rng, orders.count)
    options_start = rng.bit_generator.state
    option_draws = _generator_at(options_start)
    option_count = 0
    for chunk in _chunks(world, orders, lines, loyalty):
        _insert(connection, order_items, _line_rows(chunk, world, lines), progress)
        option_count += len(_option_rows(option_draws, chunk))
    rng.bit_generator.state = option_draws.bit_generator.state
    quirks = _OptionQuirks(rng, option_count, lines.count, orders)
    option_draws = _generator_at(options_start)
    written = 0
    for chunk in _chunks(world, orders, lines, loyalty):
        rows = quirks.add(_option_rows(option_draws, chunk))
        _insert(connection, order_item_options, rows, progress)
        written += len(rows)
    rows = quirks.rest()
    _insert(connection, order_item_options, rows, progress)
    return lines.count, written + len(rows)


def date_dim_rows(year: int) -> list[dict[str, Any]]:
    """The business's planning calendar: one row per day of `year`, US federal holidays marked."""
    us_holidays = holidays.country_holidays("US", years=[year])
    day = dt.date(year, 1, 1)
    rows = []
    while day.year == year:
        name = us_holidays.get(day)
        rows.append(
            {
                "date_key": day,
                "day_of_week": day.strftime("%A"),
                "week": day.isocalendar().week,
                "month": day.month,
                "year": day.year,
                "is_weekend": day.weekday() >= 5,
                "is_holiday": name is not None,
                "holiday_name": name,
            }
        )
        day += dt.timedelta(days=1)
    return rows


_INSERT_BATCH = 20_000


def _insert(
    connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], progress: ProgressCallback
) -> None:
    for begin in range(0, len(rows), _INSERT_BATCH):
        batch = rows[begin : begin + _INSERT_BATCH]
        connection.execute(table.insert(), batch)
        progress(table.name, len(batch))


def _trend_function(restaurants: Restaurants, year_start_day_number: int) -> Callable[[Array], Array]:
    slopes = np.array([restaurant_trend(rid) for rid in restaurants.ids])

    def trend_at(day_numbers: Array) -> Array:
        years = (np.asarray(day_numbers, dtype=float)[:, None] - year_start_day_number) / 365.0
        return np.asarray(np.maximum(0.2, 1.0 + slopes[None, :] * (years - 0.5)))

    return trend_at


def _no_progress(table: str, rows: int) -> None:
    pass


def _days(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range(count)]


def ensure_empty(connection: sa.Connection) -> None:
    """Refuse to seed over data: seeding only ever creates a source, never changes one."""
    probe = sa.inspect(connection)
    for table in (order_items, order_item_options, date_dim, restaurants_table):
        if not probe.has_table(table.name):
            continue
        if connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
            raise SourceNotEmpty(
                f"the source already holds data in {table.name}; use --add-days N to append to it"
            )


class SourceNotEmpty(Exception):
    pass


class SourceMissing(Exception):
    pass


def seed(engine: sa.Engine, config: SeedConfig, progress: ProgressCallback = _no_progress) -> SeedSummary:
    """Create the source tables and fill them with `config.days` days from `config.start`.

    A month at a time (fewer days for a large daily volume), so the memory it takes does not grow with
    the number of days."""
    with engine.begin() as connection:
        order_items.metadata.create_all(connection)
        ensure_empty(connection)
    rng = np.random.default_rng(config.seed)
    restaurants = Restaurants(_hex_ids(rng, config.restaurants), rng.lognormal(0.0, 0.35, config.restaurants))
    trend_at = _trend_function(restaurants, 0)
    size = int(CUSTOMERS_PER_DAILY_ORDER * config.orders_per_day)
    existing = int(size * EXISTING_CUSTOMER_SHARE)
    population = _new_customers(rng, existing, -365.0, 0.0, restaurants, trend_at).extend(
        _new_customers(rng, size - existing, 0.0, float(max(config.days, 1)), restaurants, trend_at)
    )
    world = _World(restaurants, population, trend_at, _hex_ids(rng, STAFF_TEST_ACCOUNTS))
    orders = _plan_orders(rng, world, _days(config.start, config.days), 0, config.orders_per_day)
    calendar = date_dim_rows(config.start.year)
    reference = restaurant_rows(restaurants.ids, config.start)
    with engine.begin() as connection:
        ensure_empty(connection)
        _insert(connection, date_dim, calendar, progress)
        _insert(connection, restaurants_table, reference, progress)
        lines, options = _write_batch(connection, rng, world, orders, LOYALTY_SWITCH_RATE, progress)
    return SeedSummary(
        order_lines=lines,
        option_rows=options,
        date_rows=len(calendar),
        restaurant_rows=len(reference),
        orders=orders.count,
        first_day=config.start,
        last_day=config.start + dt.timedelta(days=config.days - 1),
    )


@dataclass
class _SourceState:
    last_day: dt.date
    restaurants: Restaurants
    population: Population
    staff_ids: list[str]
    orders_per_day: float


_TEST_ORDERS = order_items.c.app_name.like("%DEVELOPMENT%")


def _read_state(connection: sa.Connection, rng: np.random.Generator) -> _SourceState:
    """What an append continues from: the last day, the restaurants, the customers and their habits."""
    last_time = connection.execute(sa.select(sa.func.max(order_items.c.creation_time_utc))).scalar_one()
    if last_time is None:
        raise SourceMissing("the source has no orders to append to; run bi seed first")
    last_day = last_time.date()
    recent_from = dt.datetime.combine(last_day - dt.timedelta(days=27), dt.time())
    recent = connection.execute(
        sa.select(order_items.c.restaurant_id, sa.func.count(sa.distinct(order_items.c.order_id)))
        .where(order_items.c.creation_time_utc >= recent_from, ~_TEST_ORDERS)
        .group_by(order_items.c.restaurant_id)
        .order_by(order_items.c.restaurant_id)
    ).all()
    restaurant_ids = [row[0] for row in recent]
    counts = np.array([row[1] for row in recent], dtype=float)
    restaurants = Restaurants(restaurant_ids, counts / max(counts.sum(), 1.0))
    staff_ids = sorted(
        user
        for (user,) in connection.execute(
            sa.select(order_items.c.user_id)
            .where(_TEST_ORDERS, order_items.c.user_id.is_not(None))
            .distinct()
        )
    ) or _hex_ids(rng, STAFF_TEST_ACCOUNTS)
    home_index = {rid: index for index, rid in enumerate(restaurant_ids)}
    population = _population(_customer_habits(connection), last_day, home_index, rng)
    # The recent daily volume, grossed up for the test orders the simulation adds back.
    orders_per_day = float(counts.sum()) / 28.0 / (1 - TEST_APP_ORDER_RATE)
    return _SourceState(last_day, restaurants, population, staff_ids, orders_per_day)


def _customer_habits(connection: sa.Connection) -> dict[str, list[Any]]:
    """Per customer: [first order time, last order time, orders, home restaurant, loyal, card's last 4]."""
    habits: dict[str, list[Any]] = {}
    rows = connection.execute(
        sa.select(
            order_items.c.user_id,
            order_items.c.order_id,
            order_items.c.creation_time_utc,
            order_items.c.restaurant_id,
            order_items.c.is_loyalty,
            order_items.c.printed_card_number,
        )
        .where(order_items.c.user_id.is_not(None), ~_TEST_ORDERS)
        .order_by(order_items.c.creation_time_utc)
    )
    seen_orders: set[str] = set()
    for user, order_id, created, restaurant_id, is_loyal, card in rows:
        entry = habits.setdefault(user, [created, created, 0, restaurant_id, False, None])
        entry[1] = created
        if order_id not in seen_orders:
            seen_orders.add(order_id)
            entry[2] += 1
        entry[3], entry[4] = restaurant_id, bool(is_loyal)
        if card:
            entry[5] = card[-4:]
    return habits


def _population(
    habits: dict[str, list[Any]], last_day: dt.date, home_index: dict[str, int], rng: np.random.Generator
) -> Population:
    """The customers as the simulation continues them: each at their observed pace, churning as before."""
    users = sorted(habits)
    epoch = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time())
    first = np.array([(habits[u][0] - epoch).days for u in users], dtype=float)
    last = np.array([(habits[u][1] - epoch).days for u in users], dtype=float)
    n_orders = np.array([habits[u][2] for u in users], dtype=float)
    churns = rng.random(len(users)) >= LOYAL_FOREVER_SHARE
    until = np.where(churns, rng.exponential(CHURN_MEAN_DAYS, len(users)), np.inf)
    # Customers quiet for three months have gone; the others keep their observed pace.
    until = np.where(last < -90, -1.0, until)
    return Population(
        user_ids=np.array([user.encode() for user in users], dtype=bytes),
        weight=n_orders / np.maximum(30.0, last - first + 1),
        active_from=first,
        active_until=until,
        home=np.array([home_index.get(habits[u][3], 0) for u in users], dtype=np.int64),
        loyal=np.array([habits[u][4] for u in users], dtype=bool),
        card4=np.array(
            [(habits[u][5] or f"{int(rng.integers(0, 10_000)):04d}").encode() for u in users], dtype=bytes
        ),
    )


def add_days(
    engine: sa.Engine, days: int, seed_value: int, progress: ProgressCallback = _no_progress
) -> SeedSummary:
    """Append `days` days after the source's last day, plus late rows for the days just before it."""
    with engine.begin() as connection:
        probe = sa.inspect(connection)
        if not probe.has_table(order_items.name):
            raise SourceMissing("the source has no order_items table to append to; run bi seed first")
        rng_state = np.random.default_rng(seed_value)
        state = _read_state(connection, rng_state)
        rng = np.random.default_rng([seed_value, state.last_day.toordinal()])
        trend_at = _trend_function(state.restaurants, -365)
        rate = state.orders_per_day
        newcomers = int(CUSTOMERS_PER_DAILY_ORDER * rate * (1 - EXISTING_CUSTOMER_SHARE) * days / 365)
        population = state.population.extend(
            _new_customers(rng, newcomers, 0.0, float(days), state.restaurants, trend_at)
        )
        world = _World(state.restaurants, population, trend_at, state.staff_ids)
        new_days = _days(state.last_day + dt.timedelta(days=1), days)
        fresh = _plan_orders(rng, world, new_days, 0, rate)
        late_days = _days(state.last_day - dt.timedelta(days=LATE_ARRIVAL_DAYS), LATE_ARRIVAL_DAYS + 1)
        late = _plan_orders(
            rng, world, late_days, -len(late_days), LATE_ARRIVAL_RATE * fresh.count / len(late_days)
        )
        summary = SeedSummary(first_day=new_days[0], last_day=new_days[-1], orders=fresh.count + late.count)
        for batch in (late, fresh):
            lines, options = _write_batch(connection, rng, world, batch, LOYALTY_SWITCH_RATE / 4, progress)
            summary.order_lines += lines
            summary.option_rows += options
            if batch is late:
                summary.late_lines = lines
    return summary
