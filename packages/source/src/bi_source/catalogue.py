"""The business's fixed reference data: its menu, ordering apps and add-ons.

A real menu does not change with a random seed, so nothing here depends on one: a source extended
with `--add-days` keeps selling the same items at the same prices.
"""

from __future__ import annotations

from dataclasses import dataclass

APPS: tuple[tuple[str, float], ...] = (
    ("OrderUp iOS", 0.46),
    ("OrderUp Android", 0.33),
    ("OrderUp Web", 0.16),
    ("OrderUp Kiosk", 0.05),
)
TEST_APP = "OrderUp - DEVELOPMENT"

# category -> (popularity, price range in cents, chance a line has add-ons, add-on groups, items)
_MENU: dict[str, tuple[float, tuple[int, int], float, tuple[str, ...], tuple[str, ...]]] = {
    "Entree": (
        0.16,
        (1199, 2299),
        0.25,
        ("Sides", "Sauces"),
        (
            "Grilled Salmon",
            "Chicken Parmesan",
            "Steak Frites",
            "Shrimp Scampi",
            "Beef Stroganoff",
            "Lemon Herb Chicken",
            "Pork Chop",
            "Veggie Lasagna",
            "Fish Tacos",
            "BBQ Ribs",
        ),
    ),
    "Burger": (
        0.12,
        (999, 1599),
        0.55,
        ("Toppings", "Sides"),
        (
            "Classic Burger",
            "Cheeseburger",
            "Bacon Burger",
            "Mushroom Swiss Burger",
            "Veggie Burger",
            "Double Stack Burger",
            "Jalapeno Burger",
            "Turkey Burger",
            "BBQ Burger",
            "Blue Cheese Burger",
        ),
    ),
    "Sandwich": (
        0.08,
        (899, 1399),
        0.3,
        ("Toppings", "Bread"),
        (
            "Turkey Club",
            "Philly Cheesesteak",
            "Grilled Cheese",
            "BLT",
            "Reuben",
            "Chicken Pesto Panini",
            "Meatball Sub",
            "Tuna Melt",
            "Caprese Panini",
            "French Dip",
        ),
    ),
    "Pizza": (
        0.09,
        (1099, 1899),
        0.6,
        ("Size", "Toppings"),
        (
            "Margherita Pizza",
            "Pepperoni Pizza",
            "Hawaiian Pizza",
            "Veggie Pizza",
            "Meat Lovers Pizza",
            "BBQ Chicken Pizza",
            "Four Cheese Pizza",
            "Buffalo Chicken Pizza",
            "Supreme Pizza",
            "White Pizza",
        ),
    ),
    "Bowl": (
        0.07,
        (1049, 1499),
        0.5,
        ("Protein", "Sauces"),
        (
            "Teriyaki Bowl",
            "Burrito Bowl",
            "Poke Bowl",
            "Mediterranean Bowl",
            "Buddha Bowl",
            "Korean Beef Bowl",
            "Chicken Shawarma Bowl",
            "Quinoa Power Bowl",
            "Thai Peanut Bowl",
            "Falafel Bowl",
        ),
    ),
    "Salad": (
        0.06,
        (899, 1399),
        0.4,
        ("Protein", "Dressing"),
        (
            "Caesar Salad",
            "Cobb Salad",
            "Greek Salad",
            "Garden Salad",
            "Chicken Salad",
            "Spinach Salad",
            "Kale Salad",
            "Taco Salad",
            "Asian Chicken Salad",
            "Caprese Salad",
        ),
    ),
    "Soup": (
        0.03,
        (499, 899),
        0.1,
        ("Size",),
        (
            "Tomato Soup",
            "Chicken Noodle Soup",
            "Clam Chowder",
            "French Onion Soup",
            "Minestrone",
            "Broccoli Cheddar Soup",
            "Lentil Soup",
            "Chili",
            "Butternut Squash Soup",
            "Miso Soup",
        ),
    ),
    "Appetizer": (
        0.06,
        (699, 1299),
        0.2,
        ("Sauces",),
        (
            "Mozzarella Sticks",
            "Chicken Wings",
            "Loaded Nachos",
            "Spinach Dip",
            "Calamari",
            "Onion Rings",
            "Bruschetta",
            "Potato Skins",
            "Spring Rolls",
            "Pretzel Bites",
        ),
    ),
    "Side": (
        0.09,
        (299, 599),
        0.1,
        ("Size",),
        (
            "French Fries",
            "Sweet Potato Fries",
            "Side Salad",
            "Coleslaw",
            "Mac and Cheese",
            "Mashed Potatoes",
            "Garlic Bread",
            "Rice Pilaf",
            "Steamed Broccoli",
            "Tater Tots",
        ),
    ),
    "Kids Meal": (
        0.03,
        (599, 799),
        0.1,
        ("Drink",),
        (
            "Kids Chicken Tenders",
            "Kids Cheeseburger",
            "Kids Mac and Cheese",
            "Kids Pizza",
            "Kids Grilled Cheese",
            "Kids Corn Dog",
            "Kids Pasta",
            "Kids Quesadilla",
            "Kids Fish Sticks",
            "Kids Hot Dog",
        ),
    ),
    "Breakfast": (
        0.04,
        (799, 1399),
        0.3,
        ("Sides",),
        (
            "Pancake Stack",
            "Eggs Benedict",
            "Breakfast Burrito",
            "French Toast",
            "Veggie Omelette",
            "Avocado Toast",
            "Biscuits and Gravy",
            "Breakfast Sandwich",
            "Waffle Platter",
            "Steak and Eggs",
        ),
    ),
    "Dessert": (
        0.04,
        (499, 899),
        0.2,
        ("Toppings",),
        (
            "Chocolate Cake",
            "Cheesecake",
            "Apple Pie",
            "Brownie Sundae",
            "Tiramisu",
            "Key Lime Pie",
            "Ice Cream Scoop",
            "Churros",
            "Creme Brulee",
            "Cookie Skillet",
        ),
    ),
    "Beverage": (
        0.1,
        (199, 399),
        0.15,
        ("Size",),
        (
            "Fountain Soda",
            "Iced Tea",
            "Lemonade",
            "Bottled Water",
            "Orange Juice",
            "Milkshake",
            "Root Beer",
            "Sparkling Water",
            "Arnold Palmer",
            "Hot Chocolate",
        ),
    ),
    "Coffee": (
        0.04,
        (249, 549),
        0.6,
        ("Size", "Milk"),
        (
            "Drip Coffee",
            "Latte",
            "Cappuccino",
            "Americano",
            "Cold Brew",
            "Mocha",
            "Espresso",
            "Chai Latte",
            "Flat White",
            "Caramel Macchiato",
        ),
    ),
    "Combo": (
        0.03,
        (1299, 1799),
        0.3,
        ("Drink", "Sides"),
        (
            "Burger Combo",
            "Chicken Sandwich Combo",
            "Wrap Combo",
            "Pizza Slice Combo",
            "Salad Combo",
            "Tenders Combo",
            "Hot Dog Combo",
            "Fish Combo",
            "Taco Combo",
            "Double Combo",
        ),
    ),
}

# group -> ((option name, price in cents), ...)
OPTION_GROUPS: dict[str, tuple[tuple[str, int], ...]] = {
    "Sides": (("Add Fries", 299), ("Add Side Salad", 349), ("Substitute Rice", 0)),
    "Sauces": (("Extra Sauce", 50), ("Ranch", 75), ("Hot Sauce", 0), ("Garlic Aioli", 75)),
    "Toppings": (
        ("Extra Cheese", 100),
        ("Bacon", 150),
        ("Avocado", 200),
        ("Jalapenos", 50),
        ("No Onions", 0),
    ),
    "Bread": (("Sourdough", 0), ("Gluten Free Bread", 150), ("Wrap", 0)),
    "Size": (("Small", 0), ("Large", 150), ("Extra Large", 250)),
    "Protein": (("Add Chicken", 300), ("Add Shrimp", 400), ("Add Tofu", 200), ("Add Steak", 450)),
    "Dressing": (("Ranch Dressing", 0), ("Balsamic", 0), ("Extra Dressing", 50)),
    "Drink": (("Apple Juice", 0), ("Milk", 0), ("Upgrade to Shake", 199)),
    "Milk": (("Oat Milk", 70), ("Almond Milk", 70), ("Extra Shot", 90), ("Whole Milk", 0)),
}

PROMO_GROUP = "Promo"

# Values an admin pasted into the category field instead of a category.
JUNK_CATEGORIES: tuple[str, ...] = (
    "https://admin.orderup.internal/menu/categories/17/edit",
    "http://backoffice.orderup.internal/catalog?id=4412",
    "",
    "   ",
    "<b>Entree</b>",
    "N/A",
)


@dataclass(frozen=True)
class MenuItem:
    name: str
    category: str
    unit_cents: int
    option_chance: float
    option_groups: tuple[str, ...]
    popularity: float


def _menu() -> tuple[MenuItem, ...]:
    items: list[MenuItem] = []
    for category, (popularity, (low, high), chance, groups, names) in _MENU.items():
        for rank, name in enumerate(names):
            # Prices spread evenly across the category's range, ending in 9 like a real menu.
            cents = low + (high - low) * ((rank * 7) % len(names)) // (len(names) - 1)
            cents = cents - cents % 10 + 9
            # Within a category a few favourites sell most (Zipf-like).
            items.append(MenuItem(name, category, cents, chance, groups, popularity / (rank + 1) ** 0.9))
    return tuple(items)


MENU: tuple[MenuItem, ...] = _menu()
CATEGORIES: tuple[str, ...] = tuple(_MENU)


# What the demo's restaurants are called and where they are: a name is a place-like word and a kind
# of restaurant, a city lies in the US time zone the generator gives the restaurant (hours behind UTC).
RESTAURANT_NAME_PLACES: tuple[str, ...] = (
    "Harbor Street",
    "Maple Avenue",
    "Copper Kettle",
    "Old Mill",
    "Riverside",
    "Union Square",
    "Blue Door",
    "Cedar Lane",
    "Lighthouse",
    "Market Hall",
    "Golden Fork",
    "Stone Bridge",
    "Hillside",
    "Pine Street",
    "Brick Oven",
    "Corner House",
)
RESTAURANT_NAME_KINDS: tuple[str, ...] = (
    "Grill",
    "Kitchen",
    "Bistro",
    "Diner",
    "Cafe",
    "Eatery",
    "Tavern",
    "Table",
)
CITIES_BY_UTC_OFFSET: dict[int, tuple[tuple[str, str], ...]] = {
    5: (("Boston", "MA"), ("Atlanta", "GA"), ("Philadelphia", "PA"), ("Charlotte", "NC"), ("Miami", "FL")),
    6: (
        ("Chicago", "IL"),
        ("Austin", "TX"),
        ("Nashville", "TN"),
        ("Minneapolis", "MN"),
        ("Kansas City", "MO"),
    ),
    7: (("Denver", "CO"), ("Salt Lake City", "UT"), ("Boise", "ID"), ("Albuquerque", "NM")),
    8: (
        ("Seattle", "WA"),
        ("Portland", "OR"),
        ("San Diego", "CA"),
        ("Sacramento", "CA"),
        ("Las Vegas", "NV"),
    ),
}
