"""Load the sample retailer: locales, four channels with presets, and a small catalog."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from channelhub.catalog import importing, service
from channelhub.catalog.model import ChannelKind, ChannelMode
from channelhub.core.database import Database
from channelhub.core.errors import ChannelhubError
from channelhub.inventory import service as inventory
from channelhub.inventory.model import Address, LocationKind
from channelhub.inventory.service import ChangeKind, ChannelLink, LocationInput, StockChange
from channelhub.pricing import service as pricing
from channelhub.pricing.parity import save_parity_rule
from channelhub.pricing.prices import PriceInput, save_prices

HERE = Path(__file__).resolve().parent
#: How far the marketplaces' prices may sit above the others' (their 5% markup, rounded).
MARKETPLACE_ALLOWANCE = Decimal("5.5")

CHANNELS = (
    service.ChannelInput(
        "webshop",
        "Nordwear webshop (Shopify)",
        ChannelKind.WEBSHOP,
        ChannelMode.INTEGRATED,
        ("en_US", "nl_NL"),
        "EUR",
    ),
    service.ChannelInput(
        "bol", "bol.com", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED, ("nl_NL",), "EUR"
    ),
    service.ChannelInput(
        "google", "Google Shopping", ChannelKind.FEED, ChannelMode.INTEGRATED, ("en_US",), "EUR"
    ),
    service.ChannelInput(
        "store_amsterdam",
        "Store Amsterdam (POS)",
        ChannelKind.STORE,
        ChannelMode.INDEPENDENT,
        ("nl_NL",),
        "EUR",
    ),
)


def load_sample_catalog(db: Database) -> str:
    """Idempotent: loading twice leaves the same catalog. Returns a one-line summary."""
    service.add_locale(db, "en_US", "English (United States)")
    service.add_locale(db, "nl_NL", "Nederlands")
    for channel in CHANNELS:
        service.save_channel(db, channel)
    counts = []
    for kind in ("attributes", "families", "categories", "products"):
        report = importing.import_file(db, kind, HERE / f"{kind}.csv", "csv", actor="demo")
        if report.file_errors or report.rejected:
            detail = report.file_errors or [r.reason for r in report.rejected[:3]]
            raise ChannelhubError(f"the sample {kind} did not load: {detail}")
        counts.append(f"{report.rows} {kind}")
    service.apply_preset(db, "bol", "bol")
    service.apply_preset(db, "google", "google_merchant")
    counts.append(_load_stock(db))
    counts.append(_load_prices(db))
    return "sample retailer loaded: " + ", ".join(counts)


LOCATIONS = (
    LocationInput(
        "wh",
        "Central warehouse",
        LocationKind.WAREHOUSE,
        Address("Oudegracht 1", "Utrecht", "3511 AA", "NL", 52.091, 5.121),
        priority=10,
    ),
    LocationInput(
        "ams",
        "Store Amsterdam",
        LocationKind.STORE,
        Address("Dam 1", "Amsterdam", "1012 JS", "NL", 52.373, 4.893),
        pickup=True,
        priority=20,
    ),
    LocationInput(
        "rtm",
        "Store Rotterdam",
        LocationKind.STORE,
        Address("Coolsingel 1", "Rotterdam", "3011 AD", "NL", 51.922, 4.479),
        pickup=True,
        priority=20,
    ),
)


def _sellable_skus() -> list[str]:
    with (HERE / "products.csv").open(encoding="utf-8") as source:
        return [row["sku"] for row in csv.DictReader(source) if row["kind"] != "model"]


def _load_stock(db: Database) -> str:
    """Three locations; online channels ship from all, the store sells from its own shelf."""
    for location in LOCATIONS:
        inventory.save_location(db, location)
    for channel in ("webshop", "bol", "google"):
        inventory.link_channel(
            db, channel, [ChannelLink("wh"), ChannelLink("ams"), ChannelLink("rtm")]
        )
    inventory.link_channel(db, "store_amsterdam", [ChannelLink("ams")])
    skus = _sellable_skus()
    counts = [
        StockChange(sku, location, quantity)
        for i, sku in enumerate(skus)
        for location, quantity in (("wh", 10 + i % 7), ("ams", i % 3), ("rtm", (i + 1) % 2))
    ]
    # A count sets absolute quantities, so loading the demo twice leaves the same stock.
    inventory.change_stock(db, ChangeKind.COUNT, counts, source="demo", key="demo-stock")
    return f"{len(skus)} SKUs in stock at {len(LOCATIONS)} locations"


def _load_prices(db: Database) -> str:
    """One price list per channel, bol.com 5% dearer, a sale on mugs in the webshop."""
    skus = _sellable_skus()
    lists = 0
    for channel, markup in (
        ("webshop", 100),
        ("bol", 105),
        ("google", 100),
        ("store_amsterdam", 100),
    ):
        code = f"{channel}_eur"
        pricing.save_price_list(db, code, channel)
        lists += 1
        rows = []
        for sku in skus:
            base = Decimal("24.95") if sku.startswith("TEE") else Decimal("12.95")
            if sku.startswith("JKT"):
                base = Decimal("89.00")
            amount = (base * markup / 100).quantize(Decimal("0.01"))
            sale = (
                (amount * Decimal("0.8")).quantize(Decimal("0.01"))
                if channel == "webshop" and sku.startswith("MUG")
                else None
            )
            rows.append(PriceInput(sku, amount, sale, price_list=code))
        save_prices(db, rows, actor="demo")
    # bol.com's prices carry its commission: the audit's parity check allows that markup (5%,
    # and the half cent its rounding may add) and flags only real disagreements.
    save_parity_rule(db, "bol", max_percent=MARKETPLACE_ALLOWANCE)
    return f"{lists} price lists"


# --- the live demo's retailer: every channel integrated, two stores with tills, customers ---

LIVE_CHANNELS = (
    service.ChannelInput(
        "amazon", "Amazon.nl", ChannelKind.MARKETPLACE, ChannelMode.INTEGRATED, ("nl_NL",), "EUR"
    ),
    service.ChannelInput(
        "app", "Nordwear app", ChannelKind.APP, ChannelMode.INTEGRATED, ("nl_NL",), "EUR"
    ),
    service.ChannelInput(
        "store_amsterdam",
        "Store Amsterdam (POS)",
        ChannelKind.STORE,
        ChannelMode.INTEGRATED,
        ("nl_NL",),
        "EUR",
    ),
    service.ChannelInput(
        "store_rotterdam",
        "Store Rotterdam (POS)",
        ChannelKind.STORE,
        ChannelMode.INTEGRATED,
        ("nl_NL",),
        "EUR",
    ),
)

#: (first name, last name, city) of the demo's customers; e-mail and phone derive from them.
CUSTOMERS = (
    ("Sanne", "de Vries", "Amsterdam"),
    ("Daan", "Jansen", "Rotterdam"),
    ("Emma", "Bakker", "Utrecht"),
    ("Lucas", "Visser", "Den Haag"),
    ("Julia", "Smit", "Eindhoven"),
    ("Noah", "Meijer", "Groningen"),
    ("Tess", "de Boer", "Haarlem"),
    ("Sem", "Mulder", "Amsterdam"),
    ("Zoë", "de Groot", "Rotterdam"),
    ("Finn", "Bos", "Leiden"),
    ("Lotte", "Vos", "Delft"),
    ("Milan", "Peters", "Amsterdam"),
)


def customer_email(first: str, last: str) -> str:
    """The demo customer's address: ascii, lower case, at an example domain."""
    local = f"{first}.{last}".lower().replace(" ", "").replace("ë", "e")
    return f"{local}@example.nl"


def load_live_retailer(db: Database) -> str:
    """The sample retailer plus what the live demo sells through: Amazon, the app and two
    integrated stores with tills, their prices and stock links, and customers. Idempotent."""
    summary = load_sample_catalog(db)
    for channel in LIVE_CHANNELS:
        service.save_channel(db, channel)
    every = [ChannelLink("wh"), ChannelLink("ams"), ChannelLink("rtm")]
    inventory.link_channel(db, "app", every)
    inventory.link_channel(db, "amazon", [ChannelLink("wh")])
    inventory.link_channel(db, "store_rotterdam", [ChannelLink("rtm")])
    skus = _sellable_skus()
    for channel_code, markup in (("amazon", 105), ("app", 100), ("store_rotterdam", 100)):
        code = f"{channel_code}_eur"
        pricing.save_price_list(db, code, channel_code)
        rows = [
            PriceInput(sku, (_base_price(sku) * markup / 100).quantize(Decimal("0.01")))
            for sku in skus
        ]
        save_prices(db, rows, price_list=code, actor="demo")
    save_parity_rule(db, "amazon", max_percent=MARKETPLACE_ALLOWANCE)  # as bol.com's markup
    customers = _load_customers(db)
    return f"{summary}; live channels amazon, app, two stores; {customers} customers"


def _base_price(sku: str) -> Decimal:
    if sku.startswith("JKT"):
        return Decimal("89.00")
    return Decimal("24.95") if sku.startswith("TEE") else Decimal("12.95")


def _load_customers(db: Database) -> int:
    from channelhub.customers.model import Address as CustomerAddress
    from channelhub.customers.model import CustomerRecord
    from channelhub.customers.service import ingest

    for n, (first, last, city) in enumerate(CUSTOMERS, start=1):
        record = CustomerRecord(
            channel="webshop",
            source_ref=f"demo-customer-{n}",
            email=customer_email(first, last),
            email_verified=True,
            phone=f"+3161234{n:04d}",
            country="NL",
            first_name=first,
            last_name=last,
            loyalty_card=f"NW{n:08d}" if n % 2 else "",
            address=CustomerAddress(f"Kerkstraat {n}", "", f"10{n:02d} AB", city, "NL"),
        )
        ingest(db, record)
    return len(CUSTOMERS)
