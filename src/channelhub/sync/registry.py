"""Which connector class serves which platform, imported lazily by dotted path so that a
connector that is missing (or fails to import) breaks only its own connections."""

from __future__ import annotations

import importlib

from channelhub.connectors.base import Connector
from channelhub.core.errors import InvalidInput

CONNECTORS: dict[str, str] = {
    "webhook": "channelhub.connectors.webhook:WebhookConnector",
    "shopify": "channelhub.connectors.shopify:ShopifyConnector",
    "bol": "channelhub.connectors.bol:BolConnector",
    "amazon": "channelhub.connectors.amazon:AmazonConnector",
    "woocommerce": "channelhub.connectors.woocommerce:WooCommerceConnector",
    "magento": "channelhub.connectors.magento:MagentoConnector",
    "square": "channelhub.connectors.square:SquareConnector",
    "medusa": "channelhub.connectors.medusa:MedusaConnector",
    "files": "channelhub.connectors.files:FilesConnector",
}


def platforms() -> list[str]:
    return sorted(CONNECTORS)


def connector_class(platform: str) -> type[Connector]:
    """The connector class of ``platform``; InvalidInput when unknown or not importable."""
    path = CONNECTORS.get(platform)
    if path is None:
        raise InvalidInput(f"unknown platform {platform!r}; known: {', '.join(platforms())}")
    module_name, _, name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InvalidInput(f"the {platform} connector is not available: {error}") from None
    found = getattr(module, name, None)
    if not (isinstance(found, type) and issubclass(found, Connector)):
        raise InvalidInput(f"{path} is not a connector class")
    return found
