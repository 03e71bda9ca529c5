"""The demo's live traffic: shoppers ordering on every channel, tills selling in the two
stores, the warehouse shipping and receiving goods, and the narrated scenes (the last unit
race, click-and-collect, a return in a store of an online order, a price change).

Shoppers act where they would: on the Shopify, bol.com and Amazon sandboxes (the hub hears of
it by webhook or poll, through the engine), in the app (the hub's order API), at the tills
(the hub's POS API over HTTP). The warehouse is the hub's own staff: services directly.
"""

from __future__ import annotations

import csv
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import ChannelhubError, Conflict
from channelhub.demo.load import CUSTOMERS, HERE, _base_price, _sellable_skus, customer_email
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChangeKind, StockChange
from channelhub.orders import fulfilment
from channelhub.orders.model import DeliveryMethod, OrderStatus
from channelhub.orders.service import OrderView, find_order, list_orders
from channelhub.pricing.prices import PriceInput, save_prices
from channelhub.sandbox.shopify.webhooks import send_webhook

if TYPE_CHECKING:
    from channelhub.demo.runner import DemoOptions, Narrator, Sandboxes

#: The SKUs of the narrated scenes; random traffic and restocking leave them alone.
LAST_UNIT = "MUG-RED"
PICKUP = "TEE-ORG-WHI-S"
RETURNED = "TEE-LOGO-WHI-M"
REPRICED = "MUG-WHITE"
RESEARCHED = "JKT-RAIN-M"
SCENE_SKUS = frozenset({LAST_UNIT, PICKUP, RETURNED, REPRICED, RESEARCHED})

#: How often each channel gets an order, relative to the others. Amazon's share stays within
#: what one getOrders page a minute (20 orders) brings in at the default pace.
CHANNEL_WEIGHTS = {
    "webshop": 28,
    "bol": 18,
    "amazon": 6,
    "app": 16,
    "store_amsterdam": 12,
    "store_rotterdam": 12,
}
MARKUP = {"bol": Decimal("1.05"), "amazon": Decimal("1.05")}
#: Restocking: the warehouse orders from its supplier below WAREHOUSE_LOW sellable units; a
#: store below STORE_LOW gets a transfer from the warehouse up to STORE_SHELF.
WAREHOUSE_LOW = 6
SUPPLIER_DELIVERY = 20
STORE_LOW = 2
STORE_SHELF = 4


def sample_gtins() -> dict[str, str]:
    with (HERE / "products.csv").open(encoding="utf-8") as source:
        return {row["sku"]: row["gtin"] for row in csv.DictReader(source) if row["gtin"]}


class Traffic:
    """Two threads: random orders at ``options.pace`` a second, and the narrated scenes."""

    def __init__(
        self,
        db: Database,
        hub: str,
        token: str,
        boxes: Sandboxes,
        narrator: Narrator,
        options: DemoOptions,
        stop: threading.Event,
    ) -> None:
        self.db = db
        self.hub = hub
        self.boxes = boxes
        self.narrator = narrator
        self.options = options
        self.stop = stop
        self.http = httpx.Client(
            base_url=f"{hub}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            # Let idle connections go before uvicorn does (5 s): reusing one the server is
            # closing gets "connection reset" (the 600 s run lost an app order to that race).
            limits=httpx.Limits(keepalive_expiry=2.0),
        )
        self.run_id = f"{int(time.time()) % 1_000_000:06d}"
        self.started_at = utcnow()
        self.sent: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.errors: list[str] = []
        self.gtins = sample_gtins()
        self.skus = [s for s in _sellable_skus() if s not in SCENE_SKUS]
        # bol.com and Amazon list by EAN: a SKU without one is not for sale there.
        self.listed = {
            channel: [s for s in self.skus if channel not in ("bol", "amazon") or s in self.gtins]
            for channel in CHANNEL_WEIGHTS
        }
        self._numbers = iter(range(1, 10**9))
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._guard(self._shoppers), name="demo:shoppers"),
            threading.Thread(target=self._guard(self._scenes), name="demo:scenes"),
        ]

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        self.http.close()

    def _guard(self, body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            except Exception as error:  # said on the console and kept for the report
                self._problem(f"{threading.current_thread().name} stopped: {error!r}")

        return run

    def _problem(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)
        self.narrator.say("problem", f"problem: {text}")

    def _number(self) -> int:
        with self._lock:
            return next(self._numbers)

    # --- random shoppers and the warehouse ---------------------------------------------------

    def _shoppers(self) -> None:
        rng = random.Random(self.options.seed)
        channels = list(CHANNEL_WEIGHTS)
        weights = list(CHANNEL_WEIGHTS.values())
        chores = {"ship": 0.0, "restock": 0.0, "replenish": 0.0}

        def ready() -> bool:
            return all(self._on_sale(channel) for channel in channels)

        if not self._wait_for(ready, 60, "the marketplaces' first listings"):
            return
        first_round = iter(channels)  # every channel sells at once, then at random
        while not self.stop.is_set():
            channel = next(first_round, None) or rng.choices(channels, weights)[0]
            try:
                self._order(rng, channel)
            except (ChannelhubError, httpx.HTTPError) as error:
                self._problem(f"an order on {channel} failed: {error}")
            now = time.monotonic()
            for chore, every, work in (
                ("ship", 2.0, self._ship_some),
                ("restock", 5.0, self._restock),
                ("replenish", 10.0, self._replenish_stores),
            ):
                if now - chores[chore] >= every:
                    chores[chore] = now
                    try:
                        work()
                    except ChannelhubError as error:
                        self._problem(f"{chore}: {error}")
            pause = rng.expovariate(self.options.pace) if self.options.pace > 0 else 1.0
            self.stop.wait(min(pause, 3.0))

    def _on_sale(self, channel: str) -> list[str]:
        """The SKUs a shopper can find on ``channel`` now: on the marketplaces, only those the
        sandbox already lists (a fresh sandbox learns its offers in the first seconds)."""
        if channel == "bol":
            eans = {offer.get("ean") for offer in list(self.boxes.bol.offers.values())}
            return [s for s in self.listed[channel] if self.gtins[s] in eans]
        if channel == "amazon":
            listed = set(self.boxes.amazon.listings)
            return [s for s in self.listed[channel] if s in listed]
        return self.listed[channel]

    def _order(self, rng: random.Random, channel: str) -> None:
        stocked = [
            sku
            for sku, n in inventory.available(self.db, channel, self._on_sale(channel)).items()
            if n > 0
        ]
        if not stocked:
            return
        sku = rng.choice(stocked)
        quantity = 2 if rng.random() < 0.15 else 1
        first, last, _city = rng.choice(CUSTOMERS)
        self._place(channel, [(sku, quantity)], first, last)

    def _place(
        self,
        channel: str,
        lines: list[tuple[str, int]],
        first: str,
        last: str,
        **extra: Any,
    ) -> Any:
        """Place an order the way a shopper or a till of ``channel`` does; returns what the
        channel answered (the Shopify order, the bol.com or Amazon order id, the API's JSON)."""
        email = customer_email(first, last)
        price = {sku: self._price(channel, sku) for sku, _ in lines}
        answer: Any
        if channel == "webshop":
            shop = self.boxes.shopify
            answer = shop.create_order(
                [(sku, q, price[sku]) for sku, q in lines],
                email=email,
                first_name=first,
                last_name=last,
            )
            self._announce_web_order(answer)
        elif channel == "bol":
            customer = {"firstName": first, "surname": last, "email": email}
            answer = self.boxes.bol.add_order(
                [(self.gtins[sku], q, float(price[sku])) for sku, q in lines], customer=customer
            )
        elif channel == "amazon":
            answer = self.boxes.amazon.create_order(
                [(sku, q, float(price[sku])) for sku, q in lines], buyer_name=f"{first} {last}"
            )
        elif channel == "app":
            body = {
                "channel": "app",
                "external_id": f"APP-{self.run_id}-{self._number():05d}",
                "currency": "EUR",
                "lines": [
                    {"sku": sku, "quantity": q, "unit_price": str(price[sku])} for sku, q in lines
                ],
                "customer": {"email": email, "name": f"{first} {last}"},
                "payment_status": "paid",
            } | extra
            response = self.http.post("/orders", json=body)
            response.raise_for_status()
            answer = response.json()
        else:
            answer = self._till_sale(channel, lines, first, last)
            if answer.status_code != 201:
                self.refused[channel] += 1  # the till said no: no order to count
                return answer
        self.sent[channel] += 1
        return answer

    def _announce_web_order(self, order: Any) -> None:
        """Shopify's ``orders/create`` webhook to the hub. Like Shopify, a delivery that times
        out or fails is sent again (same webhook id) a few times; should all fail, the
        connector's order poll still brings the order in."""
        url = f"{self.hub}/api/v1/webhooks/webshop"
        webhook_id = str(uuid.uuid4())
        for attempt in range(4):
            try:
                delivery = send_webhook(
                    self.boxes.shopify, url, "orders/create", order, webhook_id=webhook_id
                )
            except httpx.HTTPError as error:
                failure = f"{type(error).__name__}: {error}"
            else:
                if delivery.status_code < 500:
                    return
                failure = f"HTTP {delivery.status_code}"
            self.narrator.say(
                "webhook_retry",
                f"webshop: the orders/create webhook of {order.name} failed ({failure}); "
                "Shopify sends it again",
            )
            self.stop.wait(2.0**attempt)

    def _till_sale(self, store: str, lines: list[tuple[str, int]], first: str, last: str) -> Any:
        """A sale at a store's till, through the POS API; a 409 (the unit is held for an online
        order) is an answer the till shows, not a failure."""
        body = {
            "transaction_id": f"{store[6:9].upper()}-{self.run_id}-{self._number():05d}",
            "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
            "customer": {"email": customer_email(first, last), "name": f"{first} {last}"},
        }
        response = self.http.post(f"/pos/stores/{store}/sales", json=body)
        if response.status_code not in (201, 409):
            response.raise_for_status()
        return response

    def _price(self, channel: str, sku: str) -> Decimal:
        return (_base_price(sku) * MARKUP.get(channel, Decimal(1))).quantize(Decimal("0.01"))

    def _ship_some(self) -> None:
        """The warehouse ships what was routed a few seconds ago, a handful at a time."""
        routed, _ = list_orders(self.db, status=OrderStatus.ROUTED, limit=20)
        settled = utcnow() - timedelta(seconds=5)
        for order in routed:
            if order.delivery_method != DeliveryMethod.SHIP or order.placed_at > settled:
                continue
            if order.placed_at < self.started_at:
                continue  # an order of an earlier run: its sandbox is gone, nobody ships it
            try:
                fulfilment.ship(self.db, order.id, "demo:warehouse", tracking=f"3S{order.id:08d}")
            except Conflict:
                continue  # another hand moved it meanwhile (a scene, a cancellation)

    def _restock(self) -> None:
        """A supplier delivery at the warehouse for every SKU running low there."""
        low = [
            level.sku
            for level in inventory.stock_levels(self.db, location="wh", limit=1000)
            if level.sku in self.skus and level.on_hand - level.reserved < WAREHOUSE_LOW
        ]
        if low:
            inventory.change_stock(
                self.db,
                ChangeKind.RECEIPT,
                [StockChange(sku, "wh", SUPPLIER_DELIVERY) for sku in low],
                source="demo:supplier",
            )
            self.narrator.say(
                "restock",
                f"supplier delivery at the warehouse: {len(low)} SKUs +{SUPPLIER_DELIVERY}",
                skus=low,
            )

    def _replenish_stores(self) -> None:
        """The stores' replenishment run: every SKU a store has fewer than ``STORE_LOW`` of
        gets a transfer from the warehouse up to ``STORE_SHELF``, while the warehouse can spare
        it, so that the tills do not sit sold out."""
        spare = {
            level.sku: level.sellable - WAREHOUSE_LOW
            for level in inventory.stock_levels(self.db, location="wh", limit=1000)
            if not level.pool
        }
        for location, name in (("ams", "Store Amsterdam"), ("rtm", "Store Rotterdam")):
            have = {
                level.sku: level.sellable
                for level in inventory.stock_levels(self.db, location=location, limit=1000)
                if not level.pool
            }
            moved = []
            for sku in self.skus:
                need = STORE_SHELF - have.get(sku, 0)
                if have.get(sku, 0) >= STORE_LOW or spare.get(sku, 0) < need:
                    continue
                try:
                    inventory.transfer_stock(
                        self.db, sku, "wh", location, need, source="demo:replenishment"
                    )
                except Conflict:
                    continue  # the warehouse sold it meanwhile: next round
                spare[sku] -= need
                moved.append(sku)
            if moved:
                self.narrator.say(
                    "transfer",
                    f"replenishment: {len(moved)} SKUs moved from the warehouse to {name}",
                    location=location,
                    skus=moved,
                )

    # --- the narrated scenes -----------------------------------------------------------------

    def _scenes(self) -> None:
        if not self._wait_for(self._shop_ready, 60, "the webshop's first sync"):
            return
        self.narrator.say("ready", "the channels are in sync: the scenes begin")
        rounds = 0
        while not self.stop.is_set():
            started = time.monotonic()
            scenes = (
                self.price_change,
                self.last_unit,
                self.click_and_collect,
                self.research_online,
            )
            for scene in scenes:
                if self.stop.is_set():
                    return
                scene()
                self.stop.wait(1.0)
            if not self.stop.is_set():
                self.return_in_store()
            rounds += 1
            if rounds == self.options.rounds:
                self.stop.wait(2.0)  # the last orders reach the hub
                self.narrator.say("done", f"{rounds} round(s) of the scenes done: stopping")
                self.stop.set()
                return
            self.stop.wait(max(1.0, self.options.script_every - (time.monotonic() - started)))

    def _shop_ready(self) -> bool:
        shop = self.boxes.shopify
        with shop.lock:
            found = [shop.variant_by_sku(sku) for sku in (LAST_UNIT, REPRICED)]
            return all(v is not None and v.price > 0 for v in found)  # priced, not just made

    def _wait_for(self, check: Callable[[], bool], seconds: float, what: str) -> bool:
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            if check():
                return True
            if time.monotonic() > deadline:
                self._problem(f"gave up waiting for {what} after {seconds:.0f} s")
                return False
            self.stop.wait(0.05)
        return False

    def _shop_price(self, sku: str) -> Decimal | None:
        with self.boxes.shopify.lock:
            variant = self.boxes.shopify.variant_by_sku(sku)
            return variant.price if variant else None

    def _shop_available(self, sku: str) -> int | None:
        with self.boxes.shopify.lock:
            return self.boxes.shopify.available(sku)

    def price_change(self) -> None:
        """A markdown in the hub reaches the Shopify webshop through the engine."""
        before = self._shop_price(REPRICED)
        new = Decimal("9.95") if before != Decimal("9.95") else Decimal("11.95")
        started = time.monotonic()
        save_prices(self.db, [PriceInput(REPRICED, new, price_list="webshop_eur")], actor="demo")
        self.narrator.say(
            "price_change_saved", f"price change: {REPRICED} on the webshop {before} -> {new}"
        )
        if self._wait_for(lambda: self._shop_price(REPRICED) == new, 20, "the new price"):
            self.narrator.say(
                "price_change",
                f"price change: Shopify shows {REPRICED} at {new} "
                f"{time.monotonic() - started:.2f} s later",
                sku=REPRICED,
                price=new,
                before=before,
            )

    def last_unit(self) -> None:
        """Store Amsterdam holds the last unit; its till sells it while a webshop shopper
        checks it out. The hub lets exactly one of them have it."""
        counts = [
            StockChange(LAST_UNIT, where, n) for where, n in (("wh", 0), ("rtm", 0), ("ams", 1))
        ]
        inventory.change_stock(self.db, ChangeKind.COUNT, counts, source="demo:scene")
        if not self._wait_for(lambda: self._shop_available(LAST_UNIT) == 1, 20, "Shopify at 1"):
            return
        self.narrator.say(
            "last_unit_offered",
            f"last unit: {LAST_UNIT} is down to 1 (on the shelf in Amsterdam); "
            "the webshop offers it",
        )
        till: dict[str, Any] = {}
        web: dict[str, Any] = {}

        def sell() -> None:
            till["response"] = self._till_sale("store_amsterdam", [(LAST_UNIT, 1)], "Sem", "Mulder")

        def checkout() -> None:
            web["order"] = self._place("webshop", [(LAST_UNIT, 1)], "Emma", "Bakker")

        racers = [threading.Thread(target=sell), threading.Thread(target=checkout)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        if "order" not in web or "response" not in till:
            self._problem("the last unit race did not run to its end")
            return
        shopify_id = str(web["order"].id)
        if not self._wait_for(lambda: self._imported("webshop", shopify_id), 20, "the web order"):
            return
        order = find_order(self.db, "webshop", shopify_id)
        till_status = till["response"].status_code
        winner = "the till in Amsterdam" if till_status == 201 else "the webshop"
        on_hand = sum(
            level.on_hand
            for level in inventory.stock_levels(self.db, sku=LAST_UNIT, location="ams")
        )
        self.narrator.say(
            "last_unit",
            f"last unit: {winner} got it; the till answered {till_status}, the webshop order "
            f"{shopify_id.rsplit('/', 1)[-1]} is {order.status.value}; "
            f"Amsterdam has {on_hand} on hand (never below 0)",
            till_status=till_status,
            web_order_id=order.id,
            web_status=order.status,
            on_hand=on_hand,
        )
        self._wait_for(lambda: self._shop_available(LAST_UNIT) == 0, 20, "Shopify at 0")

    def _imported(self, channel: str, external_id: str) -> bool:
        try:
            find_order(self.db, channel, external_id)
        except ChannelhubError:
            return False
        return True

    def click_and_collect(self) -> None:
        """An app order collected at Store Rotterdam: reserved there, packed, collected."""
        counts = [StockChange(PICKUP, "rtm", 3)]
        inventory.change_stock(self.db, ChangeKind.COUNT, counts, source="demo:scene")
        answer = self._place(
            "app",
            [(PICKUP, 1)],
            "Daan",
            "Jansen",
            delivery_method="pickup",
            pickup_location="rtm",
        )
        order_id = answer["order_id"]
        view = self._order_view(order_id)
        places = sorted({r.location for r in view.reservations})
        self.narrator.say(
            "click_and_collect_placed",
            f"click and collect: app order {answer['external_id']} for {PICKUP}, to collect "
            f"in Rotterdam: {view.status.value}, held at {', '.join(places) or 'nowhere'}",
        )
        fulfilment.transition(self.db, order_id, OrderStatus.READY_FOR_PICKUP, "demo:store_rtm")
        self.narrator.say(
            "click_and_collect_ready", "click and collect: packed, ready for pickup in Rotterdam"
        )
        self.stop.wait(2.0)
        after = fulfilment.transition(self.db, order_id, OrderStatus.COLLECTED, "demo:store_rtm")
        self.narrator.say(
            "click_and_collect",
            f"click and collect: Daan Jansen collected order {answer['external_id']} in "
            f"Rotterdam ({after.status.value})",
            order_id=order_id,
            reserved_at=places,
            status=after.status,
        )

    def research_online(self) -> None:
        """Sanne puts a rain jacket in her cart in the app, then tries it on and buys it at
        Store Amsterdam's till: the journey "researched online, bought in store"."""
        inventory.change_stock(
            self.db, ChangeKind.COUNT, [StockChange(RESEARCHED, "ams", 3)], source="demo:scene"
        )
        email = customer_email("Sanne", "de Vries")
        found = self.http.get("/customers", params={"q": email})
        found.raise_for_status()
        if not found.json():
            self._problem(f"research online: no customer {email}")
            return
        profile_id = found.json()[0]["id"]
        cart = self.http.post("/carts", json={"channel": "app", "profile_id": profile_id})
        cart.raise_for_status()
        token = cart.json()["token"]
        line = {"sku": RESEARCHED, "quantity": 1, "channel": "app", "hold": False}
        self.http.post(f"/carts/{token}/lines", json=line).raise_for_status()
        self.narrator.say(
            "research_online_cart",
            f"research online: Sanne de Vries put {RESEARCHED} in her cart in the app",
        )
        self.stop.wait(2.0)
        sale = self._till_sale("store_amsterdam", [(RESEARCHED, 1)], "Sanne", "de Vries")
        self.narrator.say(
            "research_online",
            f"research online, buy in store: Sanne bought {RESEARCHED} at the Amsterdam till "
            f"(POS answered {sale.status_code}); her app cart still holds it",
            profile_id=profile_id,
            cart=token,
            till_status=sale.status_code,
            order_id=sale.json().get("order_id") if sale.status_code == 201 else None,
        )

    def _order_view(self, order_id: int) -> OrderView:
        from channelhub.orders.service import get_order

        return get_order(self.db, order_id)

    def return_in_store(self) -> None:
        """A webshop order, shipped from the warehouse, is brought back to Store Amsterdam:
        the till takes it back through the POS API and the unit goes on the store's shelf."""
        inventory.change_stock(
            self.db, ChangeKind.COUNT, [StockChange(RETURNED, "wh", 5)], source="demo:scene"
        )
        order = self._place("webshop", [(RETURNED, 1)], "Tess", "de Boer")
        shopify_id = str(order.id)
        if not self._wait_for(lambda: self._imported("webshop", shopify_id), 20, "the web order"):
            return
        view = find_order(self.db, "webshop", shopify_id)
        try:
            shipped = fulfilment.ship(
                self.db, view.id, "demo:warehouse", tracking=f"3S{view.id:08d}"
            )
        except Conflict:  # the warehouse's round shipped it first
            shipped = self._order_view(view.id)
        self.narrator.say(
            "return_shipped",
            f"return in store: webshop order {order.name} for {RETURNED} "
            f"{shipped.status.value} from the warehouse",
        )
        before = self._on_hand(RETURNED, "ams")
        response = self.http.post(
            "/pos/stores/store_amsterdam/returns",
            json={
                "order_number": shopify_id,
                "channel": "webshop",
                "return_id": f"RET-{self.run_id}-{self._number():05d}",
                "lines": [{"sku": RETURNED, "quantity": 1}],
                "reason": "too small",
            },
        )
        response.raise_for_status()
        after = self._on_hand(RETURNED, "ams")
        self.narrator.say(
            "return_in_store",
            f"return in store: Tess brought {RETURNED} of webshop order {order.name} back to "
            f"Store Amsterdam; refund {response.json()['refund']} EUR; "
            f"Amsterdam on hand {before} -> {after}",
            order_id=view.id,
            before=before,
            after=after,
        )

    def _on_hand(self, sku: str, location: str) -> int:
        return sum(
            level.on_hand for level in inventory.stock_levels(self.db, sku=sku, location=location)
        )
