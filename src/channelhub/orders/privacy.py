"""Personal data in orders: what an order keeps when its customer is erased.

The orders stay (amounts, lines, dates, status: accounting needs them); the customer's name,
e-mail and phone and every address field but the country go. The customers context calls this
inside its erasure's transaction, so an erasure that fails anywhere leaves the orders as they
were. The order is marked ``anonymised_at``: when its channel sends it again with changes (a
status, a payment), the import keeps it anonymous instead of storing the person again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from channelhub.core.database import utcnow
from channelhub.orders.store import orders

#: What an anonymised order keeps of its addresses: the country, which tax accounting needs.
KEPT_ADDRESS_FIELDS = ("country",)
#: The customer of an anonymised order.
ERASED_CUSTOMER = {"email": "", "name": "erased", "phone": ""}


def anonymise_customer(conn: Connection, order_ids: Sequence[int]) -> None:
    """Drop the customer's personal fields from these orders, in the caller's transaction.

    Repeating it changes nothing more; ids of orders that do not exist are passed over."""
    if not order_ids:
        return
    o = orders.c
    found = conn.execute(
        select(o.id, o.billing_address, o.shipping_address).where(o.id.in_(sorted(order_ids)))
    ).all()
    if not found:
        return
    now = utcnow()
    # Each order keeps its own country, so one statement executed with a row per order.
    conn.execute(
        update(orders)
        .where(o.id == bindparam("order_id"))
        .values(
            customer=ERASED_CUSTOMER,
            billing_address=bindparam("kept_billing", type_=o.billing_address.type),
            shipping_address=bindparam("kept_shipping", type_=o.shipping_address.type),
            updated_at=now,
            anonymised_at=now,
        ),
        [
            {
                "order_id": row.id,
                "kept_billing": _kept(row.billing_address),
                "kept_shipping": _kept(row.shipping_address),
            }
            for row in found
        ],
    )


def _kept(address: dict[str, Any] | None) -> dict[str, Any]:
    source = address or {}
    return {key: source[key] for key in KEPT_ADDRESS_FIELDS if key in source}
