"""What a bol.com connection needs: API credentials and how its offers are fulfilled."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from channelhub.connectors.base import ConnectorConfig


class BolConfig(ConnectorConfig):
    """A bol.com Retailer API connection (client credentials from the seller dashboard)."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    # Overridable so the same code talks to channelhub's sandbox.
    api_url: str = "https://api.bol.com"
    login_url: str = "https://login.bol.com"
    fulfilment_method: Literal["FBR", "FBB"] = "FBR"
    # Offers API v11 replaced v10's ``deliveryCode`` (e.g. "24uurs-16") with a delivery promise:
    # the days to the customer and the latest order time for next-day delivery.
    min_days_to_customer: int = Field(default=1, ge=0, le=14)
    max_days_to_customer: int = Field(default=2, ge=0, le=14)
    ultimate_order_time: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    economic_operator_id: str | None = None
    countries: tuple[Literal["NL", "BE"], ...] = ("NL", "BE")
    # The order list is the scarcest budget bol.com grants (25 requests a minute in its
    # published limits), so one poll reads one page.
    order_page_size: int = 50
    # Push notifications (Retailer API v10 subscriptions): the hub's public webhook url for this
    # connection, ``https://<hub>/api/v1/webhooks/<connection code>``. When set, "test
    # connection" subscribes it to ORDER events and the signature keys are kept fresh; an ORDER
    # notification makes the next order poll run at once. None: orders are only polled (a
    # notification that arrives anyway is still verified and used).
    push_url: str | None = Field(default=None, pattern=r"^https?://")
