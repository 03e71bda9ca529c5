"""What a Medusa v2 connection needs: the server, how to sign in, and where stock lives."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from channelhub.connectors.base import ConnectorConfig


class MedusaConfig(ConnectorConfig):
    """A Medusa v2 Admin API connection.

    Sign in with an admin user's ``email`` and ``password`` (``POST /auth/user/emailpass``
    gives a bearer token, fetched again on a 401) or with a secret API key (``sk_...``, sent
    as HTTP Basic, as Medusa's authenticate middleware reads it)."""

    url: str = Field(
        pattern=r"^https?://", description="the Medusa server, e.g. https://shop.example"
    )
    email: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    #: The stock location whose levels the hub sets and fulfils from; None: the store's only one.
    stock_location_id: str | None = None
    #: The sales channel new products are published to; None: the store's only one (if any).
    sales_channel_id: str | None = None
    #: The shipping profile of new products; None: Medusa's default profile.
    shipping_profile_id: str | None = None
    order_page_size: int = Field(default=50, ge=1, le=500)

    @model_validator(mode="after")
    def _one_way_to_sign_in(self) -> MedusaConfig:
        has_login = self.email is not None and self.password is not None
        if self.api_key is None and not has_login:
            raise ValueError("give a secret api_key, or an admin user's email and password")
        if self.api_key is not None and (self.email is not None or self.password is not None):
            raise ValueError("give either api_key or email and password, not both")
        return self
