"""A form generated from a configuration model's JSON schema (a connector's config, a
connection's mapping), and the posted form read back into values for that model.

Secrets are write-only: the form never holds their value. A secret left blank is left out of
the values, which ``save_connection`` reads as "keep the stored one"; an optional secret can
be removed with its "remove" box. Pydantic validates what comes back; its errors are placed
next to the fields they name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from channelhub.core.errors import Problem

#: Text that may be longer than this is edited in a text area (a description template).
LONG_TEXT = 2000


@dataclass(frozen=True)
class FormField:
    """One input of a generated form."""

    name: str
    label: str
    #: text, longtext, secret, secrets, integer, number, choice, choices, list, map, json, yesno
    kind: str
    required: bool
    nullable: bool
    default: Any
    help: str = ""
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def is_secret(self) -> bool:
        return self.kind in ("secret", "secrets")

    @property
    def placeholder(self) -> str:
        if self.kind in ("list", "choices"):
            return "comma-separated"
        if self.kind == "map":
            return "key = value, one a line"
        if self.kind == "json":
            return "{}"
        if self.default not in (None, "", [], {}) and not self.is_secret:
            return f"default {shown(self, self.default)}"
        return ""


def _describe(name: str, schema: Mapping[str, Any], required: bool) -> FormField:
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    nullable = len(options) < len(schema.get("anyOf", [schema]))
    spec = options[0] if options else {}
    kind = "text"
    choices: tuple[str, ...] = ()
    kind_of = spec.get("type")
    items = spec.get("items") or {}
    if spec.get("writeOnly"):
        kind = "secret"
    elif "enum" in spec or "const" in spec:
        kind, choices = "choice", tuple(str(v) for v in spec.get("enum", [spec.get("const")]))
    elif kind_of == "array" and items.get("writeOnly"):
        kind = "secrets"
    elif kind_of == "array" and "enum" in items:
        kind, choices = "choices", tuple(str(v) for v in items["enum"])
    elif kind_of == "array":
        kind = "list"
    elif kind_of == "object":
        values = spec.get("additionalProperties")
        kind = "map" if isinstance(values, dict) and values.get("type") == "string" else "json"
    elif kind_of in ("integer", "number"):
        kind = kind_of
    elif kind_of == "boolean":
        kind = "yesno"
    elif kind_of == "string" and int(spec.get("maxLength", 0)) > LONG_TEXT:
        kind = "longtext"
    return FormField(
        name=name,
        label=name.replace("_", " "),
        kind=kind,
        required=required,
        nullable=nullable,
        default=schema.get("default"),
        help=str(schema.get("description") or spec.get("description") or ""),
        options=choices,
        minimum=spec.get("minimum", spec.get("exclusiveMinimum")),
        maximum=spec.get("maximum", spec.get("exclusiveMaximum")),
    )


def form_fields(model: type[BaseModel]) -> list[FormField]:
    """The inputs of ``model``'s form, in the order its fields are declared."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        _describe(name, spec, name in required)
        for name, spec in schema.get("properties", {}).items()
    ]


def shown(form_field: FormField, value: Any) -> str:
    """A stored (non-secret) value as its input shows it."""
    if value is None:
        return ""
    if form_field.kind in ("list", "choices"):
        return ", ".join(str(v) for v in value)
    if form_field.kind == "map" and isinstance(value, dict):
        return "\n".join(f"{k} = {v}" for k, v in value.items())
    if form_field.kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if form_field.kind == "yesno":
        return "yes" if value else "no"
    return str(value)


@dataclass
class ReadForm:
    """Values read from a posted form for a model, and the problems met reading them."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def read_form(
    fields: list[FormField], posted: Mapping[str, str], prefix: str, creating: bool
) -> ReadForm:
    """The model's values from a posted form whose inputs are named ``<prefix>.<field>``.

    Blank optional inputs become None (or the default, when the field has one); a blank
    secret is left out so the stored secret is kept. Text that cannot even be read (a map
    line without "=", JSON that does not parse) becomes a problem at that field."""
    read = ReadForm()
    for f in fields:
        name = f"{prefix}.{f.name}"
        raw = posted.get(name, "")
        text = raw.strip()
        if f.kind == "choices":
            read.values[f.name] = [o for o in f.options if posted.get(f"{name}.{o}")]
            continue
        if f.is_secret:
            if f.nullable and posted.get(f"{name}.remove"):
                read.values[f.name] = None if f.kind == "secret" else []
            elif text and f.kind == "secret":
                read.values[f.name] = text
            elif text:
                read.values[f.name] = [line.strip() for line in text.splitlines() if line.strip()]
            elif creating and f.kind == "secrets":
                read.values[f.name] = []
            continue
        if not text:
            if f.nullable:
                read.values[f.name] = None
            elif f.kind in ("list", "map", "json") and f.default is not None:
                read.values[f.name] = f.default
            # otherwise left out: the model's default applies, or it says the field is required
            continue
        if f.kind == "list":
            read.values[f.name] = [p.strip() for p in text.split(",") if p.strip()]
        elif f.kind == "map":
            pairs: dict[str, str] = {}
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                key, sep, value = line.partition("=")
                if not sep or not key.strip():
                    read.problems.append(
                        Problem(name, f"line {number}: write key = value, e.g. ams = L123")
                    )
                    break
                pairs[key.strip()] = value.strip()
            read.values[f.name] = pairs
        elif f.kind == "json":
            try:
                read.values[f.name] = json.loads(text)
            except json.JSONDecodeError as error:
                read.problems.append(Problem(name, f"not valid JSON: {error}"))
        elif f.kind == "yesno":
            read.values[f.name] = text == "yes"
        elif f.kind == "longtext":
            read.values[f.name] = raw  # templates keep their spacing
        else:
            read.values[f.name] = text
    return read


def field_errors(problems: list[Problem], prefix: str) -> tuple[dict[str, list[str]], list[str]]:
    """Problems by the field they name (``<prefix>.<field>[.<index>]``), and those that name
    no field (a rule across fields), which the form shows above its inputs."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        parts = problem.location.split(".")
        if len(parts) >= 2 and parts[0] == prefix and parts[1]:
            by_field.setdefault(parts[1], []).append(problem.message)
        else:
            general.append(problem.message)
    return by_field, general
