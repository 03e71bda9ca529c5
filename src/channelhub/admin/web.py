"""The admin's pages. Every page checks the signed-in user's role; every form that changes
something carries the session's CSRF token. Errors from the hub are shown on the page they
came from, never as a stack trace.

``install(app, db)`` adds the session middleware, the static files and these routes to the
hub's FastAPI app.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from starlette.middleware.sessions import SessionMiddleware

from channelhub.admin import charts, sessions
from channelhub.admin.simulation import SHOWN_LINES, report_markup
from channelhub.admin.users import (
    Permission,
    Role,
    User,
    create_user,
    list_users,
    update_user,
)
from channelhub.catalog import browse
from channelhub.catalog import service as catalog
from channelhub.catalog.exporting import _cell as value_text
from channelhub.catalog.model import InvalidValue, Status, parse_text_value
from channelhub.catalog.products import ProductInput, ValueInput, change_status, save_products
from channelhub.core.database import Database
from channelhub.core.errors import ChannelhubError, NotFound
from channelhub.core.settings import get_settings
from channelhub.customers import erasure
from channelhub.customers import service as customers
from channelhub.customers.journeys import consent, interactions, loyalty, timeline
from channelhub.customers.journeys.consent import Purpose
from channelhub.customers.journeys.interactions import InteractionKind
from channelhub.customers.matching import Suggestion
from channelhub.insight import analytics, crosschannel, rollup, simulation
from channelhub.insight.analytics import Interval, Period
from channelhub.insight.audit import run_audit
from channelhub.insight.simulation.history import parse_sync
from channelhub.inventory import service as inventory
from channelhub.inventory.service import ChangeKind, StockChange
from channelhub.inventory.store import locations, stock_levels
from channelhub.orders import service as orders
from channelhub.orders.fulfilment import ReturnItem, cancel, return_items, ship
from channelhub.orders.model import OrderStatus
from channelhub.sync import monitor
from channelhub.sync.messages import search_messages
from channelhub.sync.model import JobState

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/admin", include_in_schema=False)
P = Permission

#: The pages of the navigation, each shown to the roles that may see it.
NAV = [
    ("dashboard", "/admin/", P.DASHBOARD),
    ("products", "/admin/products", P.PRODUCTS_READ),
    ("stock", "/admin/stock", P.STOCK_READ),
    ("orders", "/admin/orders", P.ORDERS_READ),
    ("customers", "/admin/customers", P.CUSTOMERS),
    ("channels", "/admin/channels", P.CHANNELS),
    ("sync", "/admin/sync", P.SYNC),
    ("audit", "/admin/audit", P.AUDIT),
    ("simulate", "/admin/simulate", P.AUDIT),
    ("users", "/admin/users", P.USERS),
]


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class Forbidden(Exception):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission


class BadToken(Exception):
    """A form without the session's CSRF token (forged, or from an expired session)."""


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def _signed_in(request: Request) -> User | None:
    """The user of the request's server-side session, if it is live (see admin.sessions)."""
    token = request.session.get("sid")
    return sessions.user_of(_db(request), token) if isinstance(token, str) else None


def _user(request: Request, permission: Permission) -> User:
    user = _signed_in(request)
    if user is None:
        request.session.pop("sid", None)
        raise LoginRequired(str(request.url.path))
    if not user.can(permission):
        raise Forbidden(permission)
    return user


async def _form(request: Request, user: User | None = None) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and isinstance(expected, str)) or not hmac.compare_digest(
        sent, expected
    ):
        raise BadToken
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session.setdefault("flash", []).append([kind, message])


def _page(request: Request, template: str, user: User | None, **context: Any) -> HTMLResponse:
    flashes = request.session.pop("flash", [])
    nav = [(name, url) for name, url, need in NAV if user is not None and user.can(need)]
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "nav": nav,
            "csrf": _csrf(request),
            "flashes": flashes,
            "P": Permission,
            **context,
        },
    )


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _attempt(request: Request, action: Callable[[], Any], done: str) -> bool:
    """Run a change; show its error on the next page instead of failing."""
    try:
        action()
    except ChannelhubError as error:
        _flash(request, str(error), "error")
        return False
    _flash(request, done)
    return True


# --- login ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/admin/") -> HTMLResponse:
    return _page(request, "login.html", None, next=next if next.startswith("/admin") else "/")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    target = form.get("next", "/admin/")
    if not target.startswith("/admin"):
        target = "/admin/"
    address = request.client.host if request.client else "unknown"
    try:
        # Argon2 costs ~100 ms of CPU: in a worker thread, so other requests go on meanwhile
        session = await run_in_threadpool(
            sessions.sign_in,
            _db(request),
            form.get("username", ""),
            form.get("password", ""),
            address,
        )
    except sessions.TooManyAttempts as locked:
        response = _page(request, "login.html", None, next=target, error=str(locked))
        response.status_code = 429
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    if session is None:
        _flash(request, "wrong user name or password", "error")
        return _back(f"/admin/login?next={quote(target)}")
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["sid"] = session.token
    _csrf(request)
    return _back(target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await _form(request)
    token = request.session.get("sid")
    if isinstance(token, str):
        await run_in_threadpool(sessions.sign_out, _db(request), token)
    request.session.clear()
    return _back("/admin/login")


# --- dashboard -----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, days: int = 30) -> HTMLResponse:
    user = _user(request, P.DASHBOARD)
    db = _db(request)
    days = min(max(days, 1), 366)
    rollup.refresh_if_stale(db, timedelta(seconds=5))  # a day's recompute is cheap
    period = Period.parse(None, None, default_days=days)
    with db.read() as conn:
        sales = analytics.sales_by_channel(conn, period)
        series = analytics.sales_over_time(conn, period, Interval.DAY)
        health = analytics.inventory_health(conn, window_days=min(days, 366), limit=8)
        sync = analytics.sync_health(conn)
    # Cross-channel reports come from their snapshots (the worker keeps 7/30/90/365 days).
    value, paths, mix = (
        crosschannel.snapshot(db, report, period).rows
        for report in ("customers", "journeys", "segment_channels")
    )
    buckets = sorted({p.bucket for p in series})
    by_channel: dict[str, dict[str, float]] = defaultdict(dict)
    for point in series:
        by_channel[point.channel][point.bucket] = float(point.revenue)
    lines = {name: [values.get(b, 0.0) for b in buckets] for name, values in by_channel.items()}
    return _page(
        request,
        "dashboard.html",
        user,
        days=days,
        period=period,
        sales=sales,
        health=health,
        sync=sync,
        revenue_chart=charts.bars(
            [f"{s.channel} ({s.currency})" for s in sales], [float(s.revenue) for s in sales]
        ),
        trend_chart=charts.lines(buckets, lines),
        customer_groups=[g for g in value if g.dimension == "channels"],
        reach=[g for g in value if g.dimension == "reach"],
        value_chart=charts.bars(
            [f"{g.group.replace('_', ' ')} ({g.currency})" for g in value if g.customers],
            [float(g.revenue_per_customer or 0) for g in value if g.customers],
            unit=" / customer",
        ),
        journeys=paths,
        segment_mix=mix,
        totals={
            "revenue": sum(float(s.revenue) for s in sales),
            "orders": sum(s.orders for s in sales),
            "units": sum(s.units for s in sales),
        },
    )


# --- products ------------------------------------------------------------------------------


def _scope_key(locale: str | None, channel: str | None) -> str:
    return f"{locale or ''}|{channel or ''}"


@router.get("/products/{sku}", response_class=HTMLResponse)
def product(request: Request, sku: str) -> HTMLResponse:
    user = _user(request, P.PRODUCTS_READ)
    db = _db(request)
    try:
        view = browse.get_product(db, sku)
    except NotFound as error:
        return _not_found(request, user, str(error))
    attributes = {a.code: a for a in catalog.list_attributes(db)}
    locales = [code for code, _ in catalog.list_locales(db)]
    channels = [c.code for c in catalog.list_channels(db)]
    # Every scope a value can have: shared, per locale, per channel, per locale and channel.
    scopes: list[tuple[str | None, str | None]] = [(None, None)]
    scopes += [(loc, None) for loc in locales] + [(None, c) for c in channels]
    scopes += [(loc, c) for c in channels for loc in locales]
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    for code, values in view.values.items():
        kind = attributes[code].type if code in attributes else None
        for v in values:
            cells[code][_scope_key(v.locale, v.channel)] = value_text(kind, v.data)
    return _page(
        request,
        "product.html",
        user,
        product=view,
        attributes=sorted(attributes.values(), key=lambda a: a.code),
        scopes=scopes,
        cells=cells,
        key=_scope_key,
        history=browse.product_history(db, sku, limit=50),
        statuses=list(Status),
    )


@router.post("/products/{sku}")
async def product_save(request: Request, sku: str) -> Response:
    user = _user(request, P.PRODUCTS_WRITE)
    form = await _form(request, user)
    db = _db(request)
    attributes = {a.code: a for a in catalog.list_attributes(db)}
    current = browse.get_product(db, sku)
    before: dict[tuple[str, str | None, str | None], Any] = {
        (code, v.locale, v.channel): v.data for code, vs in current.values.items() for v in vs
    }
    values: list[ValueInput] = []
    problems = []
    for name, text in form.items():
        if not name.startswith("v:"):
            continue
        _, code, locale, channel = name.split(":", 3)
        attribute = attributes.get(code)
        if attribute is None:
            problems.append(f"{code}: not an attribute")
            continue
        scope = (code, locale or None, channel or None)
        data: Any = None
        if text.strip():
            try:
                data = parse_text_value(attribute, text)
            except InvalidValue as error:
                where = "/".join(x for x in (locale, channel) if x) or "all"
                problems.append(f"{code} ({where}): {error}")
                continue
        if data != before.get(scope):
            values.append(ValueInput(code, data, locale or None, channel or None))
    if problems:
        for problem in problems:
            _flash(request, problem, "error")
        return _back(f"/admin/products/{quote(sku)}")
    if not values:
        _flash(request, "nothing changed")
        return _back(f"/admin/products/{quote(sku)}")
    result = save_products(
        db, [ProductInput(sku=sku, values=values)], actor=user.username, source="admin"
    )
    if result.rejected:
        for rejection in result.rejected:
            _flash(request, f"{rejection.column or sku}: {rejection.reason}", "error")
    else:
        _flash(request, f"saved {len(values)} value(s)")
    return _back(f"/admin/products/{quote(sku)}")


@router.post("/products/{sku}/status")
async def product_status(request: Request, sku: str) -> Response:
    user = _user(request, P.PRODUCTS_WRITE)
    form = await _form(request, user)
    try:
        target = Status(form.get("status", ""))
    except ValueError:
        _flash(request, f"unknown status {form.get('status')!r}", "error")
        return _back(f"/admin/products/{quote(sku)}")
    _attempt(
        request,
        lambda: change_status(_db(request), sku, target, user.username),
        f"{sku} is now {target.value}",
    )
    return _back(f"/admin/products/{quote(sku)}")


# --- stock ---------------------------------------------------------------------------------


@router.get("/stock", response_class=HTMLResponse)
def stock(request: Request, q: str = "", page: int = 1) -> HTMLResponse:
    user = _user(request, P.STOCK_READ)
    db = _db(request)
    page = max(page, 1)
    size = 50
    with db.read() as conn:
        places = list(conn.execute(select(locations.c.id, locations.c.code).order_by("code")))
        skus_query = select(stock_levels.c.sku).distinct().order_by(stock_levels.c.sku)
        if q:
            skus_query = skus_query.where(stock_levels.c.sku.like(f"{q.upper()}%"))
        skus = list(conn.execute(skus_query.limit(size + 1).offset((page - 1) * size)).scalars())
        more = len(skus) > size
        skus = skus[:size]
        matrix: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
        if skus:
            for sku, location_id, on_hand, reserved in conn.execute(
                select(
                    stock_levels.c.sku,
                    stock_levels.c.location_id,
                    func.sum(stock_levels.c.on_hand),
                    func.sum(stock_levels.c.reserved),
                )
                .where(stock_levels.c.sku.in_(skus))
                .group_by(stock_levels.c.sku, stock_levels.c.location_id)
            ):
                matrix[sku][location_id] = (int(on_hand), int(reserved))
    moves, _ = inventory.movements(db, sku=q.upper() if q else None, limit=20)
    return _page(
        request,
        "stock.html",
        user,
        places=places,
        skus=skus,
        matrix=matrix,
        q=q,
        page=page,
        more=more,
        moves=moves,
    )


@router.post("/stock/adjust")
async def stock_adjust(request: Request) -> Response:
    user = _user(request, P.STOCK_WRITE)
    form = await _form(request, user)
    sku, location = form.get("sku", "").strip(), form.get("location", "")
    try:
        quantity = int(form.get("quantity", ""))
        kind = ChangeKind(form.get("kind", "adjustment"))
    except ValueError:
        _flash(
            request, "quantity must be a whole number; kind adjustment, count or receipt", "error"
        )
        return _back("/admin/stock")
    _attempt(
        request,
        lambda: inventory.change_stock(
            _db(request),
            kind,
            [StockChange(sku, location, quantity)],
            source=f"admin:{user.username}",
        ),
        f"{kind.value} of {quantity} {sku} at {location} recorded",
    )
    return _back(f"/admin/stock?q={quote(sku)}")


@router.post("/stock/transfer")
async def stock_transfer(request: Request) -> Response:
    user = _user(request, P.STOCK_WRITE)
    form = await _form(request, user)
    sku = form.get("sku", "").strip()
    try:
        quantity = int(form.get("quantity", ""))
    except ValueError:
        _flash(request, "quantity must be a whole number", "error")
        return _back("/admin/stock")
    _attempt(
        request,
        lambda: inventory.transfer_stock(
            _db(request),
            sku,
            form.get("from", ""),
            form.get("to", ""),
            quantity,
            source=f"admin:{user.username}",
        ),
        f"moved {quantity} {sku} from {form.get('from')} to {form.get('to')}",
    )
    return _back(f"/admin/stock?q={quote(sku)}")


# --- orders --------------------------------------------------------------------------------


@router.get("/orders", response_class=HTMLResponse)
def orders_page(
    request: Request, channel: str = "", status: str = "", cursor: str | None = None
) -> HTMLResponse:
    user = _user(request, P.ORDERS_READ)
    db = _db(request)
    error = None
    found: list[orders.OrderView] = []
    next_cursor = None
    try:
        found, next_cursor = orders.list_orders(
            db,
            channel=channel or None,
            status=OrderStatus(status) if status else None,
            cursor=cursor,
            limit=50,
        )
    except (ChannelhubError, ValueError) as problem:
        error = str(problem)
    return _page(
        request,
        "orders.html",
        user,
        orders=found,
        next_cursor=next_cursor,
        error=error,
        channels=catalog.list_channels(db),
        statuses=list(OrderStatus),
        filters={"channel": channel, "status": status},
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: int) -> HTMLResponse:
    user = _user(request, P.ORDERS_READ)
    db = _db(request)
    try:
        view = orders.get_order(db, order_id)
    except NotFound as error:
        return _not_found(request, user, str(error))
    return _page(
        request,
        "order.html",
        user,
        order=view,
        places=[loc.code for loc in inventory.list_locations(db)],
    )


@router.post("/orders/{order_id}/ship")
async def order_ship(request: Request, order_id: int) -> Response:
    user = _user(request, P.ORDERS_SHIP)
    form = await _form(request, user)
    _attempt(
        request,
        lambda: ship(
            _db(request),
            order_id,
            f"admin:{user.username}",
            location=form.get("location") or None,
            tracking=form.get("tracking", ""),
        ),
        "shipped",
    )
    return _back(f"/admin/orders/{order_id}")


@router.post("/orders/{order_id}/cancel")
async def order_cancel(request: Request, order_id: int) -> Response:
    user = _user(request, P.ORDERS_SERVICE)
    form = await _form(request, user)
    _attempt(
        request,
        lambda: cancel(_db(request), order_id, f"admin:{user.username}", form.get("reason", "")),
        "cancelled",
    )
    return _back(f"/admin/orders/{order_id}")


@router.post("/orders/{order_id}/return")
async def order_return(request: Request, order_id: int) -> Response:
    user = _user(request, P.ORDERS_SERVICE)
    form = await _form(request, user)
    items = []
    for name, text in form.items():
        if name.startswith("line:") and text.strip() not in ("", "0"):
            try:
                items.append(ReturnItem(int(name[5:]), int(text)))
            except ValueError:
                _flash(request, f"line {name[5:]}: {text!r} is not a whole number", "error")
                return _back(f"/admin/orders/{order_id}")
    if not items:
        _flash(request, "give the number of units returned on at least one line", "error")
        return _back(f"/admin/orders/{order_id}")
    _attempt(
        request,
        lambda: return_items(
            _db(request),
            order_id,
            form.get("location", ""),
            items,
            f"admin:{user.username}",
            reason=form.get("reason", ""),
        ),
        f"return of {sum(i.quantity for i in items)} unit(s) recorded",
    )
    return _back(f"/admin/orders/{order_id}")


# --- sync ---------------------------------------------------------------------


@router.get("/sync", response_class=HTMLResponse)
def sync_page(request: Request, connection: str = "", key: str = "") -> HTMLResponse:
    user = _user(request, P.SYNC)
    db = _db(request)
    dead = monitor.list_jobs(
        db, monitor.JobFilter(connection=connection or None, state=JobState.DEAD), limit=100
    )
    log_entries = search_messages(db, connection=connection or None, key=key or None, limit=50)
    with db.read() as conn:
        health = analytics.sync_health(conn)
    return _page(
        request,
        "sync.html",
        user,
        dead=dead,
        log=log_entries,
        health=health,
        filters={"connection": connection, "key": key},
    )


@router.post("/sync/replay")
async def sync_replay(request: Request) -> Response:
    user = _user(request, P.SYNC)
    form = await _form(request, user)
    db = _db(request)
    job = form.get("job")
    if job:
        _attempt(request, lambda: monitor.replay(db, job_id=int(job)), f"job {job} queued again")
    else:
        connection = form.get("connection") or None
        count = monitor.replay(db, filters=monitor.JobFilter(connection=connection))
        _flash(request, f"{count} dead letter(s) queued again")
    return _back("/admin/sync")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, read_back: bool = False) -> HTMLResponse:
    user = _user(request, P.AUDIT)
    report = run_audit(_db(request), read_back=read_back, limit=50)
    return _page(request, "audit.html", user, report=report, read_back=read_back)


@router.get("/simulate", response_class=HTMLResponse)
def simulate_page(request: Request, start: str = "", end: str = "", sync: str = "") -> HTMLResponse:
    """The retailer's own history replayed: what each way of sharing stock would have cost."""
    user = _user(request, P.AUDIT)
    report = None
    error = None
    try:
        first, last = Period.parse(start or None, end or None, default_days=90).bounds()
        history = simulation.from_hub(_db(request), first, last, parse_sync(sync.split()))
        comparison = simulation.run(history, keep_lines=SHOWN_LINES)
        report = report_markup(comparison, history.currency)
    except ChannelhubError as problem:
        error = str(problem)
    return _page(
        request,
        "simulate.html",
        user,
        report=report,
        error=error,
        filters={"start": start, "end": end, "sync": sync},
    )


# --- users ---------------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request) -> HTMLResponse:
    user = _user(request, P.USERS)
    return _page(request, "users.html", user, users=list_users(_db(request)), roles=list(Role))


@router.post("/users")
async def users_create(request: Request) -> Response:
    user = _user(request, P.USERS)
    form = await _form(request, user)
    _attempt(
        request,
        lambda: create_user(
            _db(request), form.get("username", ""), form.get("password", ""), form.get("role", "")
        ),
        f"user {form.get('username')} created",
    )
    return _back("/admin/users")


@router.post("/users/{username}")
async def users_update(request: Request, username: str) -> Response:
    user = _user(request, P.USERS)
    form = await _form(request, user)
    active = {"yes": True, "no": False}.get(form.get("active", ""))
    _attempt(
        request,
        lambda: update_user(
            _db(request),
            username,
            role=form.get("role") or None,
            active=active,
            password=form.get("password") or None,
        ),
        f"user {username} updated",
    )
    return _back("/admin/users")


# --- customers -----------------------------------------------------------------------------

#: The highest id the customers' tables hold; larger ids in a URL are simply unknown.
MAX_CUSTOMER_ID = 2**62
CUSTOMERS_PAGE = 50
SUGGESTIONS_PAGE = 25
#: The golden record's fields in the order a person reads them.
GOLDEN_ORDER = ("first_name", "last_name", "email", "phone", "loyalty_card", "birth_date")
#: The fields of a suggestion's two records shown side by side: label, field, and whether the
#: matcher scores it (its score detail has the field's name) or it is shown for context only.
PAIR_FIELDS = (
    ("name", "name", True),
    ("birth date", "birth_date", True),
    ("street", "street", True),
    ("postal code", "postal_code", True),
    ("city", "city", True),
    ("e-mail", "email", False),
    ("phone", "phone", False),
)
#: A field scoring at least this much is shown as close rather than different.
CLOSE_SCORE = 0.8


@dataclass(frozen=True)
class GoldenField:
    """One field of the golden record and the channel record it was taken from."""

    name: str
    value: str
    channel: str
    source_ref: str
    observed_at: str
    note: str


@dataclass(frozen=True)
class PairField:
    """One field of a suggestion's two records, and whether they agree."""

    label: str
    a: str
    b: str
    score: float | None
    verdict: str  # same, close, differs, missing


@dataclass(frozen=True)
class SuggestionPair:
    """A pending merge suggestion with its two channel records side by side."""

    suggestion: Suggestion
    record_a: dict[str, Any]
    record_b: dict[str, Any]
    fields: list[PairField]


def _actor(user: User) -> str:
    return f"admin:{user.username}"


def _known_id(number: int, what: str = "customer profile") -> int:
    """``number`` when the database could hold it as an id; NotFound otherwise, rather than
    the database's overflow error."""
    if not 1 <= number <= MAX_CUSTOMER_ID:
        raise NotFound(f"{what} {number} does not exist")
    return number


def _text(value: Any) -> str:
    """A golden or record value as a person reads it: addresses on one line."""
    if isinstance(value, dict):
        city = " ".join(str(value.get(k) or "") for k in ("postal_code", "city")).strip()
        parts = [value.get("line1"), value.get("line2"), city, value.get("country")]
        return ", ".join(str(p) for p in parts if p)
    return "" if value is None else str(value)


def _golden_fields(golden: dict[str, Any]) -> list[GoldenField]:
    names = [n for n in GOLDEN_ORDER if n in golden] + sorted(set(golden) - set(GOLDEN_ORDER))
    fields = []
    for name in names:
        entry = golden[name] if isinstance(golden[name], dict) else {"value": golden[name]}
        source = entry.get("source") or {}
        notes = []
        if "verified" in entry:
            notes.append("verified" if entry["verified"] else "not verified")
        if entry.get("count"):
            notes.append(f"seen {entry['count']}×")
        fields.append(
            GoldenField(
                name=name,
                value=_text(entry.get("value")),
                channel=str(source.get("channel") or ""),
                source_ref=str(source.get("source_ref") or ""),
                observed_at=str(source.get("observed_at") or "")[:19].replace("T", " "),
                note=", ".join(notes),
            )
        )
    return fields


def _record_fields(attributes: dict[str, Any]) -> dict[str, str]:
    """The fields the matcher compares (and e-mail and phone), as a person reads them."""
    address = attributes.get("address") or {}
    name = (attributes.get("first_name") or "", attributes.get("last_name") or "")
    street = (address.get("line1") or "", address.get("line2") or "")
    return {
        "name": " ".join(name).strip(),
        "birth_date": str(attributes.get("birth_date") or ""),
        "street": " ".join(street).strip(),
        "postal_code": str(address.get("postal_code") or ""),
        "city": str(address.get("city") or ""),
        "email": str(attributes.get("email") or ""),
        "phone": str(attributes.get("phone") or ""),
    }


def _verdict(a: str, b: str, score: float | None) -> str:
    if not a or not b:
        return "missing"
    if score is None:
        return "same" if a.casefold() == b.casefold() else "differs"
    if score >= 1.0:
        return "same"
    return "close" if score >= CLOSE_SCORE else "differs"


def _channel_record(db: Database, profile_id: int, record_id: int) -> dict[str, Any]:
    """One channel record of a profile (empty when it is gone, e.g. erased meanwhile)."""
    try:
        records = customers.get_profile(db, profile_id).records
    except NotFound:
        return {}
    return next((r for r in records if r["id"] == record_id), {})


def _suggestion_pair(db: Database, suggestion: Suggestion) -> SuggestionPair:
    record_a = _channel_record(db, suggestion.profile_a, suggestion.record_a)
    record_b = _channel_record(db, suggestion.profile_b, suggestion.record_b)
    values_a = _record_fields(record_a.get("attributes") or {})
    values_b = _record_fields(record_b.get("attributes") or {})
    fields = []
    for label, name, scored in PAIR_FIELDS:
        a, b = values_a[name], values_b[name]
        score = suggestion.details.get(name) if scored else None
        if a or b:
            fields.append(PairField(label, a, b, score, _verdict(a, b, score)))
    return SuggestionPair(suggestion, record_a, record_b, fields)


@router.get("/customers", response_class=HTMLResponse)
def customers_page(request: Request, q: str = "", after: int = 0) -> HTMLResponse:
    user = _user(request, P.CUSTOMERS)
    db = _db(request)
    query = q.strip()[:320]
    error = None
    found: list[dict[str, Any]] = []
    try:
        found = customers.search_profiles(
            db, query, None, min(max(after, 0), MAX_CUSTOMER_ID), CUSTOMERS_PAGE
        )
    except ChannelhubError as problem:
        error = str(problem)
    pending = customers.suggestions(db, "pending", 0, SUGGESTIONS_PAGE)
    return _page(
        request,
        "customers.html",
        user,
        q=query,
        found=found,
        error=error,
        next_after=found[-1]["id"] if len(found) == CUSTOMERS_PAGE else None,
        pairs=[_suggestion_pair(db, s) for s in pending],
    )


async def _decide_suggestion(request: Request, suggestion_id: int, confirm: bool) -> Response:
    """Confirm or reject a suggestion as the API does; the result shows on the list."""
    user = _user(request, P.CUSTOMERS)
    await _form(request, user)
    done = "confirmed: the two customers are now one" if confirm else "rejected"
    _attempt(
        request,
        lambda: customers.decide_suggestion(
            _db(request), _known_id(suggestion_id, "match suggestion"), confirm, _actor(user)
        ),
        f"suggestion {suggestion_id} {done}",
    )
    return _back("/admin/customers#suggestions")


@router.post("/customers/suggestions/{suggestion_id}/confirm")
async def customer_suggestion_confirm(request: Request, suggestion_id: int) -> Response:
    return await _decide_suggestion(request, suggestion_id, True)


@router.post("/customers/suggestions/{suggestion_id}/reject")
async def customer_suggestion_reject(request: Request, suggestion_id: int) -> Response:
    return await _decide_suggestion(request, suggestion_id, False)


@router.get("/customers/{profile_id}", response_class=HTMLResponse)
def customer_page(request: Request, profile_id: int) -> Response:
    user = _user(request, P.CUSTOMERS)
    db = _db(request)
    try:
        profile = customers.get_profile(db, _known_id(profile_id))
    except NotFound as error:
        return _not_found(request, user, str(error))
    if profile.id != profile_id:
        _flash(request, f"customer {profile_id} was merged into customer {profile.id}")
        return _back(f"/admin/customers/{profile.id}")
    view = timeline.customer_view(db, profile.id)
    consents, consent_history = consent.consents(db, profile.id)
    merge_log = customers.merge_log(db, profile.id)
    return _page(
        request,
        "customer.html",
        user,
        profile=profile,
        golden=_golden_fields(profile.golden),
        view=view,
        orders=[e for e in view.timeline if e.kind in ("order", "return")],
        carts=[e for e in view.timeline if e.kind == "cart"],
        loyalty=loyalty.account(db, profile.id),
        consents=consents,
        consent_history=consent_history[::-1],
        purposes=list(Purpose),
        notes=interactions.list_interactions(db, profile.id)[::-1],
        merge_log=merge_log,
        undone={entry["undoes"] for entry in merge_log if entry["undoes"]},
        privacy_log=erasure.audit_log(db, profile.id),
    )


@router.post("/customers/{profile_id}/consents")
async def customer_consent(request: Request, profile_id: int) -> Response:
    user = _user(request, P.CUSTOMERS)
    form = await _form(request, user)
    back = f"/admin/customers/{profile_id}"
    granted = {"grant": True, "withdraw": False}.get(form.get("answer", ""))
    try:
        purpose = Purpose(form.get("purpose", ""))
    except ValueError:
        purpose = None
    if purpose is None or granted is None:
        choices = ", ".join(p.value for p in Purpose)
        _flash(request, f"consent: choose a purpose ({choices}) and grant or withdraw", "error")
        return _back(back)
    note = " · ".join(n for n in (form.get("note", "").strip(), f"by {_actor(user)}") if n)
    _attempt(
        request,
        lambda: consent.record_consent(
            _db(request),
            _known_id(profile_id),
            purpose,
            granted,
            form.get("source", "").strip(),
            note,
        ),
        f"consent {purpose.value} {'granted' if granted else 'withdrawn'}",
    )
    return _back(back)


@router.post("/customers/{profile_id}/notes")
async def customer_note(request: Request, profile_id: int) -> Response:
    user = _user(request, P.CUSTOMERS)
    form = await _form(request, user)
    _attempt(
        request,
        lambda: interactions.log_interaction(
            _db(request),
            _known_id(profile_id),
            InteractionKind.NOTE,
            "admin",
            form.get("subject", "").strip(),
            form.get("body", ""),
            user.username,
        ),
        "note added",
    )
    return _back(f"/admin/customers/{profile_id}")


@router.post("/customers/{profile_id}/links/{link_id}/unmerge")
async def customer_unmerge(request: Request, profile_id: int, link_id: int) -> Response:
    user = _user(request, P.CUSTOMERS)
    await _form(request, user)
    db = _db(request)

    def undo() -> None:
        logged = customers.merge_log(db, _known_id(profile_id))
        if link_id not in {entry["id"] for entry in logged}:
            raise NotFound(f"merge link {link_id} is not in the merge log of customer {profile_id}")
        customers.unmerge(db, link_id, _actor(user))

    _attempt(request, undo, f"merge link {link_id} undone")
    return _back(f"/admin/customers/{profile_id}")


@router.post("/customers/{profile_id}/erase")
async def customer_erase(request: Request, profile_id: int) -> Response:
    """Erase the person as POST /api/v1/customers/{id}/erase does, once the user typed the
    profile id or ERASE: erasure cannot be undone."""
    user = _user(request, P.CUSTOMERS_PRIVACY)
    form = await _form(request, user)
    if form.get("confirm", "").strip() not in (str(profile_id), "ERASE"):
        _flash(request, f"nothing erased: type {profile_id} or ERASE to confirm", "error")
        return _back(f"/admin/customers/{profile_id}")
    _attempt(
        request,
        lambda: erasure.erase_profile(_db(request), _known_id(profile_id), _actor(user)),
        f"customer {profile_id} erased; their orders are kept, anonymised",
    )
    return _back(f"/admin/customers/{profile_id}")


@router.get("/customers/{profile_id}/export")
def customer_export(request: Request, profile_id: int) -> Response:
    """The JSON export of GET /api/v1/customers/{id}/export, as a download (audited)."""
    user = _user(request, P.CUSTOMERS_PRIVACY)
    try:
        document = erasure.export_profile(_db(request), _known_id(profile_id), _actor(user))
    except NotFound as error:
        return _not_found(request, user, str(error))
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{profile_id}.json"'},
    )


def _not_found(request: Request, user: User, detail: str) -> HTMLResponse:
    response = _page(request, "error.html", user, title="Not found", detail=detail)
    response.status_code = 404
    return response


def install(app: FastAPI) -> None:
    """Add the admin to the hub's app: sessions, static files, pages, and its error pages."""
    key = get_settings().secret_key
    if key is None:
        log.warning("CHANNELHUB_SECRET_KEY is not set: admin sessions end when the hub restarts")
        key = secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key="admin-session:" + key,
        session_cookie="channelhub_admin",
        max_age=int(sessions.SESSION_LIFETIME.total_seconds()),
        same_site="strict",
        https_only=get_settings().admin_secure_cookies,  # the Secure flag, behind HTTPS
    )
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin-static")
    # Page groups in modules of their own; imported here because they use this module's helpers.
    from channelhub.admin.pages import connections, products

    app.include_router(products.router)
    app.include_router(connections.router)
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return _back(f"/admin/login?next={quote(exc.next_url)}")

    async def _refuse(request: Request, detail: str) -> Response:
        user = await asyncio.to_thread(_signed_in, request)
        response = _page(request, "error.html", user, title="Not allowed", detail=detail)
        response.status_code = 403
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return await _refuse(request, f"your role does not allow this ({exc.permission.value})")

    @app.exception_handler(BadToken)
    async def _bad_token(request: Request, exc: BadToken) -> Response:
        return await _refuse(request, "this form has expired; reload the page and try again")
