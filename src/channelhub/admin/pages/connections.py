"""Channels and connections: the list, a connection's form generated from its connector's
configuration schema (secrets write-only), "test connection" with the platform's answer, and
the mapping preview of one product."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from channelhub.admin.config_form import FormField, field_errors, form_fields, read_form, shown
from channelhub.admin.users import User
from channelhub.admin.web import P, _back, _db, _flash, _form, _not_found, _page, _user
from channelhub.catalog import service as catalog
from channelhub.connectors.base import Connector
from channelhub.core.errors import ChannelhubError, InvalidInput, NotFound, Problem
from channelhub.sync import operations, registry
from channelhub.sync.connections import (
    CODE,
    NEEDS,
    ConnectionInput,
    ConnectionView,
    get_connection,
    list_connections,
    save_connection,
)
from channelhub.sync.mapping import MappingSpec
from channelhub.sync.model import REDACTED, JobKind

router = APIRouter(prefix="/admin", include_in_schema=False)

#: The hub's own settings of a connection, shown above the connector's.
SETTINGS = "connection"
CONFIG = "config"
MAPPING = "mapping"
#: How much of a platform's answer to "test connection" the page shows.
ANSWER_LENGTH = 600


@dataclass(frozen=True)
class ConnectionForm:
    """Everything the connection form template needs, for a new or a stored connection."""

    platform: str
    connector: type[Connector]
    creating: bool
    code: str
    config_fields: list[FormField]
    mapping_fields: list[FormField]
    subscriptions: list[str]  # the job kinds this connector can handle
    secrets_set: set[str]  # secret fields that hold a value now
    current: dict[str, str]  # input name -> the text it shows
    checked: set[str]  # names of checked boxes
    errors: dict[str, dict[str, list[str]]]  # section -> field -> messages
    general: list[str]


def _subscribable(cls: type[Connector]) -> list[str]:
    return [k.value for k in JobKind if any(c in cls.capabilities for c in NEEDS[k])]


def _blank_form(platform: str, creating: bool, code: str = "") -> ConnectionForm:
    cls = registry.connector_class(platform)
    return ConnectionForm(
        platform=platform,
        connector=cls,
        creating=creating,
        code=code,
        config_fields=form_fields(cls.config_model),
        mapping_fields=form_fields(MappingSpec),
        subscriptions=_subscribable(cls),
        secrets_set=set(),
        current={},
        checked=set(),
        errors={},
        general=[],
    )


def _stored_form(view: ConnectionView) -> ConnectionForm:
    """The form of a stored connection: its values, and which secrets are set (never what)."""
    form = _blank_form(view.platform, creating=False, code=view.code)
    current = {f"{SETTINGS}.channel": view.channel}
    for name in ("poll_seconds", "reconcile_seconds"):
        seconds = getattr(view, name)
        current[f"{SETTINGS}.{name}"] = "" if seconds is None else str(seconds)
    checked = {f"{SETTINGS}.subscriptions.{s}" for s in view.subscriptions}
    if view.enabled:
        checked.add(f"{SETTINGS}.enabled")
    secrets_set = set()
    for f in form.config_fields:
        value = view.config.get(f.name)
        if f.is_secret:
            if value == REDACTED:
                secrets_set.add(f.name)
        elif f.kind == "choices":
            checked |= {f"{CONFIG}.{f.name}.{v}" for v in value or ()}
        else:
            current[f"{CONFIG}.{f.name}"] = shown(f, value)
    for f in form.mapping_fields:
        if f.name in view.mapping:
            current[f"{MAPPING}.{f.name}"] = shown(f, view.mapping[f.name])
    return ConnectionForm(
        **{**vars(form), "current": current, "checked": checked, "secrets_set": secrets_set}
    )


def _render(
    request: Request, user: User, form: ConnectionForm, status: int = 200, **extra: Any
) -> HTMLResponse:
    db = _db(request)
    answer = request.session.pop("answer", None)
    response = _page(
        request,
        "connection.html",
        user,
        form=form,
        channels=[c.code for c in catalog.list_channels(db)],
        answer=answer if answer and answer[0] == form.code else None,
        **extra,
    )
    response.status_code = status
    return response


# --- the list ------------------------------------------------------------------------------


@router.get("/channels", response_class=HTMLResponse)
def channels_page(request: Request) -> HTMLResponse:
    user = _user(request, P.CHANNELS)
    db = _db(request)
    return _page(
        request,
        "channels.html",
        user,
        channels=catalog.list_channels(db),
        connections=list_connections(db),
        platforms=registry.platforms(),
    )


# --- add and edit --------------------------------------------------------------------------


@router.get("/connections/new", response_class=HTMLResponse)
def new_connection(request: Request, platform: str = "") -> Response:
    user = _user(request, P.CHANNELS)
    try:
        form = _blank_form(platform, creating=True)
    except InvalidInput as error:
        _flash(request, str(error), "error")
        return _back("/admin/channels")
    checked = {f"{SETTINGS}.enabled"}
    checked |= {f"{SETTINGS}.subscriptions.{s}" for s in form.subscriptions}
    for f in form.config_fields:
        if f.kind == "choices":
            checked |= {f"{CONFIG}.{f.name}.{v}" for v in f.default or ()}
    return _render(request, user, ConnectionForm(**{**vars(form), "checked": checked}))


@router.post("/connections/new")
async def create_connection(request: Request, platform: str = "") -> Response:
    user = _user(request, P.CHANNELS)
    posted = await _form(request, user)
    try:
        form = _blank_form(platform, creating=True, code=posted.get(f"{SETTINGS}.code", "").strip())
    except InvalidInput as error:
        _flash(request, str(error), "error")
        return _back("/admin/channels")
    return _save(request, user, form, posted)


@router.get("/connections/{code}", response_class=HTMLResponse)
def connection_page(request: Request, code: str, sku: str = "") -> Response:
    user = _user(request, P.CHANNELS)
    db = _db(request)
    try:
        view = get_connection(db, code)
        form = _stored_form(view)
    except NotFound as error:
        return _not_found(request, user, str(error))
    except InvalidInput as error:  # its connector is not installed here
        return _not_found(request, user, str(error))
    preview: dict[str, Any] | None = None
    preview_error = None
    if sku.strip():
        try:
            listing = operations.preview(db, code, sku.strip())
            preview = {k: v for k, v in listing.items() if v not in (None, "", (), [], {})}
        except ChannelhubError as error:
            preview_error = str(error)
    return _render(request, user, form, sku=sku, preview=preview, preview_error=preview_error)


@router.post("/connections/{code}")
async def update_connection(request: Request, code: str) -> Response:
    user = _user(request, P.CHANNELS)
    posted = await _form(request, user)
    try:
        view = get_connection(_db(request), code)
        form = _stored_form(view)
    except (NotFound, InvalidInput) as error:
        return _not_found(request, user, str(error))
    return _save(request, user, form, posted)


def _save(request: Request, user: User, form: ConnectionForm, posted: dict[str, str]) -> Response:
    """Save the posted form; on any problem show the form again with each error at its field
    (and the values typed, except secrets, which are never sent back)."""
    problems: list[Problem] = []
    if form.creating:
        if not CODE.match(form.code):
            problems.append(Problem(f"{SETTINGS}.code", "use a-z, 0-9, _ and - (up to 100)"))
        else:
            try:
                get_connection(_db(request), form.code)
                problems.append(Problem(f"{SETTINGS}.code", f"{form.code} exists already"))
            except NotFound:
                pass
    seconds: dict[str, int | None] = {}
    for name in ("poll_seconds", "reconcile_seconds"):
        text = posted.get(f"{SETTINGS}.{name}", "").strip()
        try:
            seconds[name] = int(text) if text else None
        except ValueError:
            problems.append(Problem(f"{SETTINGS}.{name}", "a whole number of seconds"))
            seconds[name] = None
    config = read_form(form.config_fields, posted, CONFIG, form.creating)
    mapping = read_form(form.mapping_fields, posted, MAPPING, form.creating)
    problems += config.problems + (mapping.problems or _mapping_problems(mapping.values))
    spec = ConnectionInput(
        code=form.code,
        platform=form.platform,
        channel=posted.get(f"{SETTINGS}.channel", ""),
        config=config.values,
        subscriptions=tuple(
            JobKind(s) for s in form.subscriptions if posted.get(f"{SETTINGS}.subscriptions.{s}")
        ),
        enabled=bool(posted.get(f"{SETTINGS}.enabled")),
        mapping=mapping.values,
        poll_seconds=seconds["poll_seconds"],
        reconcile_seconds=seconds["reconcile_seconds"],
    )
    if not problems:
        try:
            save_connection(_db(request), spec)
        except ChannelhubError as error:
            problems = error.problems or [Problem("", str(error))]
        else:
            _flash(request, f"connection {form.code} saved")
            return _back(f"/admin/connections/{form.code}")
    sections = (SETTINGS, CONFIG, MAPPING)
    errors = {section: field_errors(problems, section)[0] for section in sections}
    general = [
        p.message
        for p in problems
        if not any(p.location.startswith(f"{s}.") for s in sections)
        or p.location.rstrip(".") in sections
    ]
    current = {
        name: value
        for name, value in posted.items()
        if not _is_secret_input(form, name) and name != "csrf"
    }
    checked = {name for name, value in posted.items() if value and _is_box(form, name)}
    return _render(
        request,
        user,
        ConnectionForm(
            **{
                **vars(form),
                "current": current,
                "checked": checked,
                "errors": errors,
                "general": general,
            }
        ),
        status=422,
    )


def _mapping_problems(values: dict[str, Any]) -> list[Problem]:
    """What is wrong with the mapping, at the field it concerns (a template names none)."""
    try:
        MappingSpec.parse(values)
    except InvalidInput as error:
        if error.problems:
            return error.problems
        for name in ("title", "description"):
            try:
                MappingSpec.parse({name: values.get(name, "")})
            except InvalidInput as wrong:
                return [Problem(f"{MAPPING}.{name}", str(wrong))]
        return [Problem(MAPPING, str(error))]
    return []


def _is_secret_input(form: ConnectionForm, name: str) -> bool:
    secret = {f"{CONFIG}.{f.name}" for f in form.config_fields if f.is_secret}
    return name in secret


def _is_box(form: ConnectionForm, name: str) -> bool:
    boxes = {f"{SETTINGS}.enabled"} | {f"{SETTINGS}.subscriptions.{s}" for s in form.subscriptions}
    for f in form.config_fields:
        boxes |= {f"{CONFIG}.{f.name}.{o}" for o in f.options if f.kind == "choices"}
    return name in boxes


# --- test ----------------------------------------------------------------------------------


@router.post("/connections/{code}/test")
async def test_connection(request: Request, code: str) -> Response:
    """Call the platform with the stored credentials and show its answer on the page."""
    user = _user(request, P.CHANNELS)
    await _form(request, user)
    try:
        check = await operations.check_connection(_db(request), code)
    except ChannelhubError as error:
        ok, detail = False, str(error)
    else:
        ok, detail = check.ok, check.detail
    # The session is a cookie (4 kB at most): a long answer is cut; the sync log has it whole.
    if len(detail) > ANSWER_LENGTH:
        detail = detail[:ANSWER_LENGTH] + " … (the whole answer is in the sync log)"
    request.session["answer"] = [code, ok, detail]
    return _back(f"/admin/connections/{code}#answer")
