"""Imports every context's tables so that ``metadata`` knows them all (Alembic, tests)."""

from channelhub.admin import store as _admin  # noqa: F401
from channelhub.apikeys import store as _apikeys  # noqa: F401
from channelhub.automation import store as _automation  # noqa: F401
from channelhub.catalog import store as _catalog  # noqa: F401
from channelhub.core import events as _events  # noqa: F401
from channelhub.core.database import metadata
from channelhub.customers import store as _customers  # noqa: F401
from channelhub.customers.journeys import store as _journeys  # noqa: F401
from channelhub.feeds import store as _feeds  # noqa: F401
from channelhub.insight import store as _insight  # noqa: F401
from channelhub.inventory import store as _inventory  # noqa: F401
from channelhub.orders import store as _orders  # noqa: F401
from channelhub.pos import store as _pos  # noqa: F401
from channelhub.pricing import store as _pricing  # noqa: F401
from channelhub.sync import store as _sync  # noqa: F401

__all__ = ["metadata"]
