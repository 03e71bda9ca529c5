"""Medusa v2 (Admin API): products, variants, stock per location, prices, orders, fulfilments."""

from channelhub.connectors.medusa.config import MedusaConfig
from channelhub.connectors.medusa.connector import MedusaConnector

__all__ = ["MedusaConfig", "MedusaConnector"]
