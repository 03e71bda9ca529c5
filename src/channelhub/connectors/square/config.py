"""What a Square connection needs: an access token, the hub locations it stands for, and the
webhook subscription's notification URL and signature key."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from channelhub.connectors.base import ConnectorConfig


class SquareConfig(ConnectorConfig):
    """A Square seller account (a personal or OAuth access token) serving one store channel."""

    access_token: SecretStr
    #: hub location code -> Square location id. Stock is counted at each mapped Square
    #: location; Square sales made there come in as orders picked up at the hub location.
    locations: dict[str, str] = Field(min_length=1, max_length=10)
    # Overridable so the same code talks to channelhub's sandbox (or Square's own sandbox,
    # https://connect.squareupsandbox.com).
    api_url: str = Field(default="https://connect.squareup.com", pattern=r"^https?://")
    #: The notification URL of the webhook subscription, exactly as registered in Square
    #: (it is part of what Square signs), and that subscription's signature key.
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_signature_key: SecretStr | None = None
    #: Which Square order states become hub orders (a till sale is COMPLETED at once).
    order_states: tuple[str, ...] = ("COMPLETED",)
    #: Import orders updated from this moment on (RFC 3339); None: from the first poll on.
    import_orders_since: str | None = None
    order_page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator("locations")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for code, square_id in value.items():
            if not code or not square_id or len(square_id) > 100:
                raise ValueError("each hub location code maps to a Square location id")
        if len(set(value.values())) != len(value):
            raise ValueError("two hub locations map to the same Square location")
        return value

    @field_validator("order_states")
    @classmethod
    def _states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"OPEN", "COMPLETED", "CANCELED", "DRAFT"}
        unknown = [s for s in value if s not in allowed]
        if unknown or not value:
            raise ValueError(f"order states are among {', '.join(sorted(allowed))}")
        return value
