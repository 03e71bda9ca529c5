"""The files connector: CSV or JSON files in a local folder or on an SFTP server, for ERPs and
3PLs. Outbound (through the sync engine): stock, prices and listings files in ``outgoing/``,
and orders forwarded by automation rules; each written under a temporary name and renamed,
named ``<topic>-<UTC timestamp>-<sequence>.<csv|json>``. Inbound (``channelhub.automation.
file_inbox``): ``incoming/`` is read, each file applied whole or not at all, then moved to
``processed/`` or to ``failed/`` with a ``<name>.error.txt`` naming the line and the reason."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from channelhub.connectors.base import (
    Accepted,
    Capability,
    ChannelOrder,
    ChannelPrice,
    Connector,
    ConnectorConfig,
    Listing,
    RateLimit,
    StockLevel,
)
from channelhub.connectors.files.formats import file_name, render
from channelhub.connectors.files.storage import LocalStorage, SftpStorage, Storage
from channelhub.core.database import utcnow

FOLDER = r"^[A-Za-z0-9_.-]{1,100}$"


class FilesConfig(ConnectorConfig):
    transport: Literal["local", "sftp"] = "local"
    root: str = Field(min_length=1, max_length=1000, description="the exchange folder")
    format: Literal["csv", "json"] = "csv"
    host: str | None = Field(default=None, max_length=255)
    port: int = Field(default=22, ge=1, le=65535)
    username: str | None = Field(default=None, max_length=100)
    password: SecretStr | None = None
    private_key: SecretStr | None = Field(default=None, description="OpenSSH or PEM private key")
    host_key: str | None = Field(
        default=None, max_length=2000, description="the server's public key, to pin it"
    )
    outgoing: str = Field(default="outgoing", pattern=FOLDER)
    incoming: str = Field(default="incoming", pattern=FOLDER)
    processed: str = Field(default="processed", pattern=FOLDER)
    failed: str = Field(default="failed", pattern=FOLDER)

    @model_validator(mode="after")
    def _sftp_needs_login(self) -> FilesConfig:
        if self.transport == "sftp":
            if not self.host or not self.username:
                raise ValueError("sftp needs host and username")
            if self.password is None and self.private_key is None:
                raise ValueError("sftp needs a password or a private_key")
        return self


STOCK_COLUMNS = ("sku", "quantity")
PRICE_COLUMNS = ("sku", "amount", "currency", "compare_at")
LISTING_COLUMNS = (
    "sku",
    "title",
    "description",
    "brand",
    "gtin",
    "category",
    "parent_sku",
    "on_hold",
    "price",
    "currency",
)
ORDER_COLUMNS = (
    "source_channel",
    "order_id",
    "created_at",
    "currency",
    "customer_email",
    "customer_name",
    "line_id",
    "sku",
    "quantity",
    "unit_price",
)


def open_storage(config: FilesConfig) -> Storage:
    if config.transport == "local":
        return LocalStorage(config.root)
    assert config.host and config.username
    return SftpStorage(
        config.host,
        config.port,
        config.username,
        config.root,
        password=config.password.get_secret_value() if config.password else None,
        private_key=config.private_key.get_secret_value() if config.private_key else None,
        host_key=config.host_key,
    )


class FilesConnector(Connector):
    platform = "files"
    api_version = "channelhub-files-1"
    capabilities = frozenset(
        {Capability.PUSH_STOCK, Capability.PUSH_PRICES, Capability.PUSH_LISTINGS}
    )
    config_model = FilesConfig
    rate_limit = RateLimit(rate=20, burst=20)
    max_batch = 1000  # one file per batch of jobs

    @property
    def _config(self) -> FilesConfig:
        assert isinstance(self.config, FilesConfig)
        return self.config

    async def _write(
        self, topic: str, columns: Sequence[str], rows: list[dict[str, object]]
    ) -> str:
        """Write one file, named by its content's digest: when the same content waits in the
        outgoing folder already (a repeated delivery), that file is the answer and nothing is
        written twice."""
        config = self._config
        data = render(config.format, topic, columns, rows)
        digest = hashlib.sha256(data).hexdigest()[:8]
        storage = open_storage(config)
        try:
            for waiting in await storage.list(config.outgoing):
                if waiting.startswith(f"{topic}-") and waiting.endswith(
                    f"-{digest}.{config.format}"
                ):
                    return waiting
            name = file_name(topic, config.format, utcnow(), digest)
            await storage.write(config.outgoing, name, data)
        finally:
            await storage.close()
        return name

    async def test_connection(self) -> str:
        config = self._config
        storage = open_storage(config)
        try:
            waiting = await storage.list(config.incoming)
            await storage.list(config.outgoing)
        finally:
            await storage.close()
        return (
            f"{config.transport} {config.root}: {len(waiting)} file(s) waiting in {config.incoming}"
        )

    async def push_stock(self, levels: Sequence[StockLevel]) -> Accepted:
        rows: list[dict[str, object]] = [{"sku": s.sku, "quantity": s.quantity} for s in levels]
        return Accepted(detail=await self._write("stock", STOCK_COLUMNS, rows))

    async def push_prices(self, prices: Sequence[ChannelPrice]) -> Accepted:
        rows: list[dict[str, object]] = [
            {
                "sku": p.sku,
                "amount": str(p.amount),
                "currency": p.currency,
                "compare_at": None if p.compare_at is None else str(p.compare_at),
            }
            for p in prices
        ]
        return Accepted(detail=await self._write("prices", PRICE_COLUMNS, rows))

    async def push_listings(self, listings: Sequence[Listing]) -> Accepted:
        rows: list[dict[str, object]] = [
            {
                "sku": x.sku,
                "title": x.title,
                "description": x.description,
                "brand": x.brand,
                "gtin": x.gtin,
                "category": x.category,
                "parent_sku": x.parent_sku,
                "on_hold": "true" if x.on_hold else "false",
                "price": str(x.price.amount) if x.price else None,
                "currency": x.price.currency if x.price else None,
            }
            for x in listings
        ]
        return Accepted(detail=await self._write("listings", LISTING_COLUMNS, rows))

    async def forward_order(self, order: ChannelOrder, source_channel: str) -> Accepted:
        """Write the order as an ``orders-...`` file (one row per line) for the ERP to create."""
        rows: list[dict[str, object]] = [
            {
                "source_channel": source_channel,
                "order_id": order.external_id,
                "created_at": order.created_at.isoformat(),
                "currency": order.currency,
                "customer_email": order.customer_email,
                "customer_name": order.customer_name,
                "line_id": line.external_line_id,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
            }
            for line in order.lines
        ]
        return Accepted(detail=await self._write("orders", ORDER_COLUMNS, rows))
