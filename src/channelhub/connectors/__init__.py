"""Connectors: one package per platform, each a small class over the platform's documented API.

The sync engine owns retries, rate limits, logging and persistence; a connector only maps
between the hub's values (``connectors.base``) and one platform's API.
"""
