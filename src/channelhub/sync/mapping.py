"""Per-connection field mapping: a catalog product becomes the ``Listing`` one channel shows.

Titles and descriptions are Jinja2 templates rendered in a sandbox (a template is user input);
value maps rename attribute options (``{"color": {"black": "Zwart"}}``) and the category map
names the channel's category for the hub's. Pure: no database, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channelhub.connectors.base import Listing
from channelhub.core.errors import InvalidInput, Problem

_env = SandboxedEnvironment(autoescape=False)


class MappingSpec(BaseModel):
    """How one connection maps products; every field has a sensible default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locale: str | None = Field(default=None, max_length=20)
    title: str = Field(default="{{ title or name or sku }}", max_length=2000)
    description: str = Field(default="{{ description or '' }}", max_length=10_000)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    categories: dict[str, str] = Field(default_factory=dict)
    attributes: tuple[str, ...] = ()  # attributes passed on as they are (after value maps)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> MappingSpec:
        try:
            spec = cls.model_validate(dict(data))
        except ValidationError as error:
            problems = [
                Problem("mapping." + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in error.errors(include_input=False)
            ]
            raise InvalidInput("the mapping is not valid", problems) from None
        for name in ("title", "description"):
            _template(getattr(spec, name))
        return spec


@lru_cache(maxsize=512)
def _template(source: str) -> Any:
    try:
        return _env.from_string(source)
    except TemplateError as error:
        raise InvalidInput(f"template {source[:60]!r} is not valid: {error}") from None


def pick_value(
    scoped: Sequence[tuple[str | None, str | None, Any]], channel: str, locale: str | None
) -> Any:
    """The most specific of (locale, channel, data) values: channel+locale, locale, channel,
    then the unscoped one."""
    best: tuple[int, Any] | None = None
    for value_locale, value_channel, data in scoped:
        if value_channel not in (None, channel) or value_locale not in (None, locale):
            continue
        rank = (value_channel is not None) * 2 + (value_locale is not None)
        if best is None or rank > best[0]:
            best = (rank, data)
    return None if best is None else best[1]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "amount" in value:
        return f"{value.get('amount')} {value.get('unit', value.get('currency', ''))}".strip()
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def map_listing(
    sku: str,
    values: Mapping[str, Any],
    categories: Sequence[str],
    spec: MappingSpec,
    parent_sku: str | None = None,
    on_hold: bool = False,
) -> Listing:
    """The listing of one product from its resolved attribute values (one per attribute)."""
    mapped: dict[str, Any] = {}
    for code, value in values.items():
        table = spec.values.get(code)
        if table and isinstance(value, list):
            mapped[code] = [table.get(str(v), v) for v in value]
        elif table and value is not None:
            mapped[code] = table.get(str(value), value)
        else:
            mapped[code] = value
    context = {"sku": sku, **mapped}
    try:
        title = _template(spec.title).render(context).strip()
        description = _template(spec.description).render(context).strip()
    except TemplateError as error:
        raise InvalidInput(f"the mapping of {sku} cannot be rendered: {error}") from None
    category = next((spec.categories[c] for c in categories if c in spec.categories), None)
    images = mapped.get("images")
    return Listing(
        sku=sku,
        title=title or sku,
        description=description,
        brand=_text(mapped.get("brand")) or None,
        gtin=_text(mapped.get("gtin")) or None,
        images=tuple(str(i) for i in images) if isinstance(images, list) else (),
        parent_sku=parent_sku,
        attributes={a: _text(mapped.get(a)) for a in spec.attributes if mapped.get(a) is not None},
        category=category,
        on_hold=on_hold,
    )
