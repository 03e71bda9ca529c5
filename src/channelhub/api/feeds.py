"""Feed routes: definitions (CRUD), publishing, versions and validation reports under
``/api/v1/feeds``; the feed files themselves at stable URLs under ``/feeds``.

Feed files are fetched by Merchant Center and Meta on a schedule, which can send neither our
headers nor an OAuth flow: each feed has its own secret token, given as ``?token=``. An API key
with the read scope (``Authorization: Bearer`` or ``X-API-Key``) opens every feed as well.
Files carry a strong ``ETag``; a fetch with a matching ``If-None-Match`` gets 304.

A request never builds a feed: it serves the newest publication (the worker publishes on
change, or ``POST /api/v1/feeds/{code}/publish``), or 404 saying so. ``/feeds/{code}.{ext}``
serves the newest full version; ``/feeds/{code}/delta.{ext}`` the newest delta, cumulative
since that full version (an empty one when no delta followed it), never one older than it.
The ``X-Feed-Kind`` header says which.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from channelhub.api.deps import Reader, Writer, get_db
from channelhub.api.inputs import JsonData
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey, Scope, authenticate, require
from channelhub.core.database import Database
from channelhub.core.errors import NotFound, Unauthenticated
from channelhub.core.redaction import install_log_redaction
from channelhub.feeds import service
from channelhub.feeds.model import MEDIA_TYPES, Feed, FeedFormat, FeedKind, VersionKind

router = APIRouter()
# Feed tokens travel in the query string, which access logs print: redact every log line.
install_log_redaction()

FeedCode = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]
FeedFile = Annotated[
    str,
    PathParam(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,99}\.(xml|tsv|csv)$",
        description="the feed's code and its format's extension, e.g. google-en.xml",
    ),
]
NOT_FOUND = errors(404)
BOTH = errors(404, 409)


class FeedIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: FeedKind
    format: FeedFormat
    channel: str = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")
    locale: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    settings: dict[Annotated[str, Field(max_length=100)], JsonData] = Field(
        description="link_template (required), image_base_url, fields, values, categories, "
        "default_condition, store_codes"
    )


class FeedCreate(FeedIn):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")


class FeedOut(BaseModel):
    code: str
    name: str
    kind: FeedKind
    format: FeedFormat
    channel: str
    locale: str
    settings: dict[str, Any]
    url: str = Field(
        description="the newest full version (add ?token=...): every valid item; point the "
        "platform's full (replace) fetch here"
    )
    delta_url: str = Field(
        description="the newest delta, cumulative since that full version: items added or "
        "changed, and removed ones marked out of stock; point a supplemental or update fetch here"
    )
    created_at: datetime
    updated_at: datetime


class FeedCreated(FeedOut):
    token: str = Field(description="the feed's access token: shown once, stored hashed")


class TokenOut(BaseModel):
    token: str


class VersionOut(BaseModel):
    number: int
    kind: VersionKind
    started_at: datetime
    finished_at: datetime
    items: int
    rejected: int
    removed: int
    etag: str
    size: int


class ViolationOut(BaseModel):
    item: str
    attribute: str
    rule: str
    message: str


class ReportOut(BaseModel):
    version: int | None = Field(description="the version the report belongs to; null: fresh")
    items: int
    rejected: int
    by_rule: dict[str, int]
    violations: list[ViolationOut]
    truncated: bool


def _out(feed: Feed) -> dict[str, Any]:
    extension = feed.format.value
    return {
        "code": feed.code,
        "name": feed.name,
        "kind": feed.kind,
        "format": feed.format,
        "channel": feed.channel,
        "locale": feed.locale,
        "settings": feed.settings.model_dump(mode="json"),
        "url": f"/feeds/{feed.code}.{extension}",
        "delta_url": f"/feeds/{feed.code}/delta.{extension}",
        "created_at": feed.created_at,
        "updated_at": feed.updated_at,
    }


def _version_out(version: service.Version) -> VersionOut:
    return VersionOut(
        number=version.number,
        kind=version.kind,
        started_at=version.started_at,
        finished_at=version.finished_at,
        items=version.items,
        rejected=version.rejected,
        removed=version.removed,
        etag=version.etag,
        size=version.size,
    )


def _spec(code: str, body: FeedIn) -> service.FeedInput:
    return service.FeedInput(
        code, body.name, body.kind, body.format, body.channel, body.locale, dict(body.settings)
    )


# --- definitions --------------------------------------------------------------------------


@router.get("/api/v1/feeds", response_model=list[FeedOut], tags=["feeds"], responses=AUTHENTICATED)
def list_feeds(request: Request, _key: ApiKey = Reader) -> list[dict[str, Any]]:
    """Every feed definition."""
    return [_out(f) for f in service.list_feeds(get_db(request))]


@router.post(
    "/api/v1/feeds",
    response_model=FeedCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["feeds"],
    responses={**AUTHENTICATED, **BOTH},
)
def create_feed(request: Request, body: FeedCreate, _key: ApiKey = Writer) -> dict[str, Any]:
    """Define a feed; the answer carries its access token, shown this once."""
    feed, token = service.create_feed(get_db(request), _spec(body.code, body))
    return {**_out(feed), "token": token}


@router.get(
    "/api/v1/feeds/{code}",
    response_model=FeedOut,
    tags=["feeds"],
    responses={**AUTHENTICATED, **NOT_FOUND},
)
def get_feed(request: Request, code: FeedCode, _key: ApiKey = Reader) -> dict[str, Any]:
    return _out(service.get_feed(get_db(request), code))


@router.put(
    "/api/v1/feeds/{code}",
    response_model=FeedOut,
    tags=["feeds"],
    responses={**AUTHENTICATED, **NOT_FOUND},
)
def update_feed(
    request: Request, code: FeedCode, body: FeedIn, _key: ApiKey = Writer
) -> dict[str, Any]:
    """Change a feed's definition (the next delta re-checks every item)."""
    return _out(service.update_feed(get_db(request), _spec(code, body)))


@router.delete(
    "/api/v1/feeds/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["feeds"],
    responses={**AUTHENTICATED, **NOT_FOUND},
)
def delete_feed(request: Request, code: FeedCode, _key: ApiKey = Writer) -> Response:
    service.delete_feed(get_db(request), code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/feeds/{code}/token",
    response_model=TokenOut,
    tags=["feeds"],
    responses={**AUTHENTICATED, **NOT_FOUND},
)
def rotate_token(request: Request, code: FeedCode, _key: ApiKey = Writer) -> TokenOut:
    """A new access token; the old one stops working at once."""
    return TokenOut(token=service.rotate_token(get_db(request), code))


@router.post(
    "/api/v1/feeds/{code}/publish",
    response_model=VersionOut,
    tags=["feeds"],
    responses={**AUTHENTICATED, **BOTH},
)
def publish(
    request: Request,
    code: FeedCode,
    kind: VersionKind = Query(VersionKind.FULL, description="full, or delta since the last"),
    _key: ApiKey = Writer,
) -> VersionOut:
    """Publish a new version now (a full one, or a delta of what changed since the last)."""
    return _version_out(service.publish(get_db(request), code, kind))


@router.get(
    "/api/v1/feeds/{code}/versions",
    response_model=list[VersionOut],
    tags=["feeds"],
    responses={**AUTHENTICATED, **NOT_FOUND},
)
def list_versions(request: Request, code: FeedCode, _key: ApiKey = Reader) -> list[VersionOut]:
    return [_version_out(v) for v in service.list_versions(get_db(request), code)]


@router.get(
    "/api/v1/feeds/{code}/report",
    response_model=ReportOut,
    tags=["feeds"],
    responses={**AUTHENTICATED, **NOT_FOUND},
)
def report(
    request: Request,
    code: FeedCode,
    fresh: bool = Query(False, description="check the catalog now instead of the last version"),
    _key: ApiKey = Reader,
) -> dict[str, Any]:
    """The validation report: which items were held back, by which rule, and why."""
    db = get_db(request)
    if fresh:
        return {"version": None, **service.validate_feed(db, code).as_dict()}
    version = service.latest_version(db, code)
    if version is None:
        raise NotFound(f"feed {code!r} has no published version yet; ask for ?fresh=true")
    return {"version": version.number, **version.report}


# --- the files ----------------------------------------------------------------------------


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the feed file",
        "content": {media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()},
        "headers": {
            "ETag": {"description": "the version's entity tag", "schema": {"type": "string"}}
        },
    },
    304: {"description": "the file has not changed since the ETag in If-None-Match"},
    **errors(401, 403, 404, 409, 422),
}


def _allowed_feed(db: Database, request: Request, code: str, token: str | None) -> Feed:
    """The feed, when the request carries its token or an API key with the read scope."""
    if token:
        return service.check_token(db, code, token)
    header = request.headers.get("authorization", "")
    api_key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    api_key = api_key or request.headers.get("x-api-key", "")
    if not api_key:
        raise Unauthenticated("give the feed's token as ?token=... or an API key")
    if len(api_key) > 200 or not api_key.isascii() or not api_key.isprintable():
        raise Unauthenticated("the API key is malformed")
    require(authenticate(db, api_key), Scope.READ)
    return service.get_feed(db, code)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return any(t == "*" or t.removeprefix("W/") == etag for t in tags)


def _serve(
    request: Request, feed: Feed, version: service.Version, kind: str, base: int
) -> Response:
    etag = f'"{version.etag}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "Last-Modified": version.finished_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "X-Feed-Version": str(version.number),
        "X-Feed-Kind": kind,
        "X-Feed-Base-Version": str(base),
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    headers["Content-Length"] = str(version.size)
    return StreamingResponse(
        service.open_version(version), media_type=feed.media_type, headers=headers
    )


def _serve_empty_delta(request: Request, feed: Feed, full: service.Version) -> Response:
    """The delta right after a full version: no item differs from it (nothing is built)."""
    body = service.empty_delta(feed)
    etag = f'"{full.etag}-delta"'
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "Last-Modified": full.finished_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "X-Feed-Version": str(full.number),
        "X-Feed-Kind": "delta",
        "X-Feed-Base-Version": str(full.number),
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type=feed.media_type, headers=headers)


def _feed_for_file(db: Database, request: Request, file: str, token: str | None) -> Feed:
    code, _, extension = file.rpartition(".")
    feed = _allowed_feed(db, request, code, token)
    if extension != feed.format.value:
        raise NotFound(
            f"feed {code!r} is written as {feed.format.value}: "
            f"fetch /feeds/{code}.{feed.format.value}"
        )
    return feed


@router.get("/feeds/{file}", tags=["feeds"], responses=_FILE_RESPONSES, response_class=Response)
def feed_file(
    request: Request,
    file: FeedFile,
    token: str | None = Query(None, max_length=200, description="the feed's access token"),
) -> Response:
    """The feed's newest full version (the request never builds one: 404 until published)."""
    db = get_db(request)
    feed = _feed_for_file(db, request, file, token)
    version = service.latest_version(db, feed.code, VersionKind.FULL)
    if version is None:
        raise NotFound(_UNPUBLISHED.format(code=feed.code))
    return _serve(request, feed, version, "full", version.number)


@router.get(
    "/feeds/{code}/delta.{extension}",
    tags=["feeds"],
    responses=_FILE_RESPONSES,
    response_class=Response,
)
def delta_file(
    request: Request,
    code: FeedCode,
    extension: Annotated[str, PathParam(pattern=r"^(xml|tsv|csv)$")],
    token: str | None = Query(None, max_length=200, description="the feed's access token"),
) -> Response:
    """The feed's newest delta, cumulative since its newest full version: the items added or
    changed since then, and the ones removed marked out of stock. Never a delta older than
    the newest full version: right after one, an empty delta."""
    db = get_db(request)
    feed = _feed_for_file(db, request, f"{code}.{extension}", token)
    full = service.latest_version(db, feed.code, VersionKind.FULL)
    if full is None:
        raise NotFound(_UNPUBLISHED.format(code=feed.code))
    version = service.latest_version(db, feed.code, VersionKind.DELTA)
    if version is None or version.number < full.number:
        return _serve_empty_delta(request, feed, full)
    return _serve(request, feed, version, "delta", full.number)


_UNPUBLISHED = (
    "feed {code!r} has not been published yet: the worker publishes it shortly after it is "
    "defined (channelhub worker), or publish it now with POST /api/v1/feeds/{code}/publish "
    "or `channelhub feed generate {code}`"
)
