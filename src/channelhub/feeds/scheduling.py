"""The worker's feed task: publish every feed when its content changed, off the request path.

A feed's first full version is published as soon as it is defined; afterwards, each turn
publishes a cumulative delta when an input of the feed changed since its newest version, and
a new full version when the newest is older than a day (``FULL_EVERY``), when the definition or
a promotion changed (every item may differ), or when the delta has grown to a quarter of the
full (a full costs little more then). A feed URL serves the newest of each kind and never
builds one. Runs in ``channelhub worker`` (``channelhub.background``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from channelhub.core.database import Database, utcnow
from channelhub.core.errors import Conflict
from channelhub.feeds import service
from channelhub.feeds.model import VersionKind

log = logging.getLogger(__name__)

#: How old the newest full version may grow before the worker publishes a new one.
FULL_EVERY = timedelta(hours=24)
#: A delta this large a share of the full version's items makes the next publication a full.
DELTA_SHARE = 0.25


def due(db: Database, code: str) -> VersionKind | None:
    """What the feed needs now: a full version, a delta, or nothing."""
    full = service.latest_version(db, code, VersionKind.FULL)
    if full is None or utcnow() - full.started_at >= FULL_EVERY:
        return VersionKind.FULL
    newest = service.latest_version(db, code)
    assert newest is not None
    changed = service.changed_since(db, code, newest.started_at)
    if changed is None:
        return VersionKind.FULL
    if not changed:
        return None
    if newest.kind is VersionKind.DELTA and newest.items >= DELTA_SHARE * max(full.items, 1):
        return VersionKind.FULL
    return VersionKind.DELTA


def publish_due(db: Database) -> int:
    """Publish what every feed needs now; returns how many versions were published. A feed
    another worker is publishing is left to it."""
    published = 0
    for feed in service.list_feeds(db):
        kind = due(db, feed.code)
        if kind is None:
            continue
        try:
            service.publish(db, feed.code, kind)
        except Conflict as error:  # another worker holds this feed's run
            log.info("feed %s: %s", feed.code, error)
            continue
        published += 1
    return published
