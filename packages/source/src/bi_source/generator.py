"""A deterministic generator of the ordering database, with the quirks of the real one at its rates.

The same configuration and seed give the same rows in the same order, so the same database file, byte
for byte. The simulation works day by day: how many orders a day gets (weekday, month and holiday
seasonality), which customers place them (a population with a long tail of one-time customers and a
core of regulars, joining and churning over time), then what each order holds (lines, add-ons,
discounts), and last the data problems real exports carry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
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
    """Customers as parallel arrays; day numbers count from the simulation's day 0."""

    user_ids: list[str]
    weight: Array
    active_from: Array
    active_until: Array
    home: Array
    loyal: Array
    card4: list[str]

    def __len__(self) -> int:
        return len(self.user_ids)

    @classmethod
    def empty(cls) -> Population:
        return cls(
            [],
            np.zeros(0),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=bool),
            [],
        )

    def extend(self, other: Population) -> Population:
        return Population(
            self.user_ids + other.user_ids,
            np.concatenate([self.weight, other.weight]),
            np.concatenate([self.active_from, other.active_from]),
            np.concatenate([self.active_until, other.active_until]),
            np.concatenate([self.home, other.home]),
            np.concatenate([self.loyal, other.loyal]),
            self.card4 + other.card4,
        )


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
    active_until = np.where(churns, np.maximum(active_from, 0) + lifetime, np.inf)
    # New customers find a restaurant in proportion to its size and its trend when they join.
    home_weights = restaurants.weights[None, :] * trend_at(np.maximum(active_from, 0))
    cumulative = np.cumsum(home_weights, axis=1)
    draws = rng.random(count) * cumulative[:, -1]
    home = (cumulative < draws[:, None]).sum(axis=1)
    return Population(
        user_ids=_hex_ids(rng, count),
        weight=rng.lognormal(0.0, 1.1, count),
        active_from=active_from,
        active_until=active_until,
        home=home.astype(np.int64),
        loyal=rng.random(count) < LOYALTY_MEMBER_RATE,
        card4=[f"{value:04d}" for value in rng.integers(0, 10_000, count)],
    )


@dataclass
class _Orders:
    """One row per order, in time order."""

    ids: list[str] = field(default_factory=list)
    time_ms: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    restaurant: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    customer: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # -1 guest, -2 staff
    app: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # -1 the test app
    staff: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _simulate_orders(
    rng: np.random.Generator,
    days: list[dt.date],
    first_day_number: int,
    orders_per_day: float,
    restaurants: Restaurants,
    population: Population,
    trend_at: Callable[[Array], Array],
) -> _Orders:
    us_holidays = holidays.country_holidays("US", years=sorted({day.year for day in days}))
    app_weights = np.array([weight for _, weight in APPS])
    app_weights = app_weights / app_weights.sum()
    epoch = dt.date(1970, 1, 1)
    parts: dict[str, list[Array]] = {key: [] for key in ("time", "restaurant", "customer", "app", "staff")}
    for offset, day in enumerate(days):
        number = first_day_number + offset
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
        size = restaurants.weights * trend_at(np.array([float(number)]))[0]
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
        offsets = np.array([restaurant_utc_offset(rid) for rid in restaurants.ids])[restaurant]
        utc_hour = np.mod(np.clip(local_hour, 6.0, 23.99) + offsets, 24.0)
        day_ms = (day - epoch).days * 86_400_000
        parts["time"].append(day_ms + (utc_hour * 3_600_000).astype(np.int64))
        parts["restaurant"].append(restaurant.astype(np.int64))
        parts["customer"].append(customer)
        parts["app"].append(np.where(is_test, -1, rng.choice(len(APPS), count, p=app_weights)))
        parts["staff"].append(rng.integers(0, STAFF_TEST_ACCOUNTS, count))
    time_ms = np.concatenate(parts["time"]) if days else np.zeros(0, dtype=np.int64)
    order = np.argsort(time_ms, kind="stable")
    return _Orders(
        ids=_hex_ids(rng, len(time_ms)),
        time_ms=time_ms[order],
        restaurant=np.concatenate(parts["restaurant"])[order] if days else time_ms,
        customer=np.concatenate(parts["customer"])[order] if days else time_ms,
        app=np.concatenate(parts["app"])[order] if days else time_ms,
        staff=np.concatenate(parts["staff"])[order] if days else time_ms,
    )


def _loyalty_by_order(
    rng: np.random.Generator, orders: _Orders, population: Population, switch_rate: float
) -> Array:
    """Each order's loyalty flag: the customer's status at that time.

    `switch_rate` of the customers seen change status between two of their orders (mostly joining the
    programme, sometimes leaving it); only customers with two or more orders can.
    """
    loyalty = np.zeros(len(orders.ids), dtype=bool)
    has_customer = np.flatnonzero(orders.customer >= 0)
    customers = orders.customer[has_customer]
    loyalty[has_customer] = population.loyal[customers]
    by_customer = np.argsort(customers, kind="stable")
    sorted_customers = customers[by_customer]
    starts = np.flatnonzero(np.r_[True, sorted_customers[1:] != sorted_customers[:-1]])
    ends = np.r_[starts[1:], len(sorted_customers)]
    repeaters = np.flatnonzero(ends - starts >= 2)
    wanted = min(repeaters.size, round(switch_rate * starts.size))
    switching = np.sort(rng.choice(repeaters, size=wanted, replace=False)) if wanted else repeaters[:0]
    for group in switching:
        members = by_customer[starts[group] : ends[group]]
        positions = has_customer[members]
        cut = int(rng.integers(1, positions.size))
        joins = rng.random() < 0.7  # most switchers join the programme; some leave it
        loyalty[positions[:cut]] = not joins
        loyalty[positions[cut:]] = joins
        population.loyal[customers[members[0]]] = joins
    return loyalty


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def _build_rows(
    rng: np.random.Generator,
    orders: _Orders,
    loyalty: Array,
    restaurants: Restaurants,
    population: Population,
    staff_ids: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Order lines and option rows for the simulated orders, quirks included."""
    n_orders = len(orders.ids)
    lines_per_order = 1 + np.minimum(rng.poisson(EXTRA_LINES_MEAN, n_orders), 7)
    n_lines = int(lines_per_order.sum())
    line_order = np.repeat(np.arange(n_orders), lines_per_order)
    line_rank = np.arange(n_lines) - np.repeat(np.cumsum(lines_per_order) - lines_per_order, lines_per_order)
    popularity = np.array([item.popularity for item in MENU])
    item = rng.choice(len(MENU), n_lines, p=popularity / popularity.sum())
    quantity = rng.choice([1, 2, 3], n_lines, p=[0.86, 0.11, 0.03])
    # Lines of one order are stamped a few hundred milliseconds apart.
    jitter = line_rank * rng.integers(50, 800, n_lines)
    times = (orders.time_ms[line_order] + jitter).astype("datetime64[ms]").astype(object)
    line_ids = _hex_ids(rng, n_lines)
    junk = rng.random(n_lines) < JUNK_CATEGORY_RATE
    junk_value = rng.integers(0, len(JUNK_CATEGORIES), n_lines)
    variant = rng.random(n_lines) < NAME_VARIANT_RATE
    variant_kind = rng.integers(0, 5, n_lines)
    has_options = rng.random(n_lines) < np.array([MENU[i].option_chance for i in item])
    extra_option = rng.random(n_lines) < 0.3
    discounted = rng.random(n_orders) < DISCOUNT_ORDER_RATE
    malformed = max(1, round(n_lines * MALFORMED_PER_LINE)) if n_lines >= 1000 else 0
    broken = rng.choice(n_lines, size=3 * malformed, replace=False) if malformed else np.zeros(0, dtype=int)
    null_line_id = set(broken[:malformed].tolist())
    null_name = set(broken[malformed : 2 * malformed].tolist())
    zero_quantity = set(broken[2 * malformed :].tolist())

    lines: list[dict[str, Any]] = []
    options: list[dict[str, Any]] = []
    for index in range(n_lines):
        o = int(line_order[index])
        menu_item = MENU[int(item[index])]
        customer = int(orders.customer[o])
        is_loyal = bool(loyalty[o])
        qty = int(quantity[index])
        price_cents = menu_item.unit_cents * qty
        name: str | None = menu_item.name
        if variant[index]:
            name = _name_variant(menu_item.name, int(variant_kind[index]))
        if index in zero_quantity:
            qty, price_cents = 0, 0
        if index in null_name:
            name = None
        user_id = None
        if customer >= 0:
            user_id = population.user_ids[customer]
        elif customer == -2:
            user_id = staff_ids[int(orders.staff[o])]
        app = TEST_APP if orders.app[o] < 0 else APPS[int(orders.app[o])][0]
        line_id = line_ids[index]
        lines.append(
            {
                "app_name": app,
                "restaurant_id": restaurants.ids[int(orders.restaurant[o])],
                "creation_time_utc": times[index],
                "order_id": orders.ids[o],
                "user_id": user_id,
                "printed_card_number": "************" + population.card4[customer] if is_loyal else None,
                "is_loyalty": is_loyal,
                "currency": "USD",
                "lineitem_id": None if index in null_line_id else line_id,
                "item_category": JUNK_CATEGORIES[int(junk_value[index])]
                if junk[index]
                else menu_item.category,
                "item_name": name,
                "item_price": _cents(price_cents),
                "item_quantity": qty,
            }
        )
        if has_options[index] and qty > 0:
            # Two add-ons on one line are two different add-ons: the only exact copies are the export's.
            choices = [
                (group, option) for group in menu_item.option_groups for option in OPTION_GROUPS[group]
            ]
            picks = rng.choice(len(choices), size=2 if extra_option[index] else 1, replace=False)
            for pick in picks:
                group, (option_name, option_cents) = choices[int(pick)]
                options.append(
                    {
                        "order_id": orders.ids[o],
                        "lineitem_id": line_id,
                        "option_group_name": group,
                        "option_name": option_name,
                        "option_price": _cents(option_cents),
                        "option_quantity": 1 if rng.random() < 0.9 else 2,
                    }
                )
        if line_rank[index] == 0 and discounted[o] and qty > 0:
            options.append(
                {
                    "order_id": orders.ids[o],
                    "lineitem_id": line_id,
                    "option_group_name": PROMO_GROUP,
                    **_promo(rng, price_cents, is_loyal),
                    "option_quantity": 1,
                }
            )
    return lines, _with_option_quirks(rng, options, orders.ids, n_lines)


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


def _with_option_quirks(
    rng: np.random.Generator, options: list[dict[str, Any]], order_ids: list[str], n_lines: int
) -> list[dict[str, Any]]:
    """Exact duplicates (~1% of rows, up to three extra copies) and a few orphans."""
    result: list[dict[str, Any]] = []
    duplicate = rng.random(len(options)) < DUPLICATE_OPTION_RATE
    copies = rng.choice([1, 2, 3], len(options), p=[0.7, 0.2, 0.1])
    for index, row in enumerate(options):
        result.append(row)
        if duplicate[index]:
            result.extend(dict(row) for _ in range(int(copies[index])))
    orphans = max(1, round(n_lines * ORPHAN_OPTIONS_PER_LINE)) if n_lines >= 1000 and order_ids else 0
    for number, line_id in enumerate(_hex_ids(rng, orphans)):
        # Half point into a real order at a line it does not have; half at an order that does not exist.
        order_id = order_ids[int(rng.integers(0, len(order_ids)))] if number % 2 == 0 else _hex_ids(rng, 1)[0]
        orphan = {
            "order_id": order_id,
            "lineitem_id": line_id,
            "option_group_name": "Toppings",
            "option_name": "Extra Cheese",
            "option_price": _cents(100),
            "option_quantity": 1,
        }
        result.insert(int(rng.integers(0, len(result) + 1)), orphan)
    return result


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
    """Create the source tables and fill them with `config.days` days from `config.start`."""
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
    staff_ids = _hex_ids(rng, STAFF_TEST_ACCOUNTS)
    orders = _simulate_orders(
        rng, _days(config.start, config.days), 0, config.orders_per_day, restaurants, population, trend_at
    )
    loyalty = _loyalty_by_order(rng, orders, population, LOYALTY_SWITCH_RATE)
    lines, options = _build_rows(rng, orders, loyalty, restaurants, population, staff_ids)
    calendar = date_dim_rows(config.start.year)
    reference = restaurant_rows(restaurants.ids, config.start)
    with engine.begin() as connection:
        ensure_empty(connection)
        _insert(connection, date_dim, calendar, progress)
        _insert(connection, restaurants_table, reference, progress)
        _insert(connection, order_items, lines, progress)
        _insert(connection, order_item_options, options, progress)
    return SeedSummary(
        order_lines=len(lines),
        option_rows=len(options),
        date_rows=len(calendar),
        restaurant_rows=len(reference),
        orders=len(orders.ids),
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


def _read_state(connection: sa.Connection, rng: np.random.Generator) -> _SourceState:
    """What an append continues from: the last day, the restaurants, the customers and their habits."""
    last_time = connection.execute(sa.select(sa.func.max(order_items.c.creation_time_utc))).scalar_one()
    if last_time is None:
        raise SourceMissing("the source has no orders to append to; run bi seed first")
    last_day = last_time.date()
    recent_from = dt.datetime.combine(last_day - dt.timedelta(days=27), dt.time())
    is_test = order_items.c.app_name.like("%DEVELOPMENT%")
    recent = connection.execute(
        sa.select(order_items.c.restaurant_id, sa.func.count(sa.distinct(order_items.c.order_id)))
        .where(order_items.c.creation_time_utc >= recent_from, ~is_test)
        .group_by(order_items.c.restaurant_id)
        .order_by(order_items.c.restaurant_id)
    ).all()
    restaurant_ids = [row[0] for row in recent]
    counts = np.array([row[1] for row in recent], dtype=float)
    restaurants = Restaurants(restaurant_ids, counts / max(counts.sum(), 1.0))
    home_index = {rid: index for index, rid in enumerate(restaurant_ids)}
    staff_ids = sorted(
        user
        for (user,) in connection.execute(
            sa.select(order_items.c.user_id).where(is_test, order_items.c.user_id.is_not(None)).distinct()
        )
    ) or _hex_ids(rng, STAFF_TEST_ACCOUNTS)
    habits: dict[str, list[Any]] = {}  # user -> [first, last, orders, home, loyal, card4]
    rows = connection.execute(
        sa.select(
            order_items.c.user_id,
            order_items.c.order_id,
            order_items.c.creation_time_utc,
            order_items.c.restaurant_id,
            order_items.c.is_loyalty,
            order_items.c.printed_card_number,
        )
        .where(order_items.c.user_id.is_not(None), ~is_test)
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
    users = sorted(habits)
    epoch = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time())
    first = np.array([(habits[u][0] - epoch).days for u in users], dtype=float)
    last = np.array([(habits[u][1] - epoch).days for u in users], dtype=float)
    n_orders = np.array([habits[u][2] for u in users], dtype=float)
    churns = rng.random(len(users)) >= LOYAL_FOREVER_SHARE
    until = np.where(churns, rng.exponential(CHURN_MEAN_DAYS, len(users)), np.inf)
    # Customers quiet for three months have gone; the others keep their observed pace.
    until = np.where(last < -90, -1.0, until)
    population = Population(
        user_ids=users,
        weight=n_orders / np.maximum(30.0, last - first + 1),
        active_from=first,
        active_until=until,
        home=np.array([home_index.get(habits[u][3], 0) for u in users], dtype=np.int64),
        loyal=np.array([habits[u][4] for u in users], dtype=bool),
        card4=[habits[u][5] or f"{int(rng.integers(0, 10_000)):04d}" for u in users],
    )
    # The recent daily volume, grossed up for the test orders the simulation adds back.
    orders_per_day = float(counts.sum()) / 28.0 / (1 - TEST_APP_ORDER_RATE)
    return _SourceState(last_day, restaurants, population, staff_ids, orders_per_day)


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
        new_days = _days(state.last_day + dt.timedelta(days=1), days)
        fresh = _simulate_orders(rng, new_days, 0, rate, state.restaurants, population, trend_at)
        late_days = _days(state.last_day - dt.timedelta(days=LATE_ARRIVAL_DAYS), LATE_ARRIVAL_DAYS + 1)
        late_rate = LATE_ARRIVAL_RATE * len(fresh.ids) / len(late_days)
        late = _simulate_orders(
            rng, late_days, -len(late_days), late_rate, state.restaurants, population, trend_at
        )
        summary = SeedSummary(
            first_day=new_days[0], last_day=new_days[-1], orders=len(fresh.ids) + len(late.ids)
        )
        for batch in (late, fresh):
            loyalty = _loyalty_by_order(rng, batch, population, LOYALTY_SWITCH_RATE / 4)
            lines, options = _build_rows(rng, batch, loyalty, state.restaurants, population, state.staff_ids)
            _insert(connection, order_items, lines, progress)
            _insert(connection, order_item_options, options, progress)
            summary.order_lines += len(lines)
            summary.option_rows += len(options)
            if batch is late:
                summary.late_lines = len(lines)
    return summary
