"""The admin's create and edit forms, made from the resource's schema: an input per
editable field, with the same `maxlength`/`required` attributes as the app's own forms
(www/schemas.py form_attrs), and what the schema is given when one is submitted."""

import types
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin

from markupsafe import Markup
from multidict import MultiMapping

from ..orm import Model, TextField
from ..schemas import form_attrs
from .options import LONG_TEXT, ModelAdmin
from .queries import TRUE


def _type(admin: ModelAdmin, name: str) -> Any:
    """The field's type, an optional one's (`int | None`) included: it gets the same input."""
    annotation = admin.schema.model_fields[name].annotation
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [arg for arg in get_args(annotation) if arg is not type(None)]
        return kinds[0] if len(kinds) == 1 else annotation
    return annotation


def _kind(admin: ModelAdmin, name: str) -> str:
    annotation = _type(admin, name)
    if get_origin(annotation) is list:
        return "text"  # comma-separated, as in the app's forms (Schema.parse)
    if annotation is datetime:
        return "datetime-local"  # read as UTC by the schema (www/schemas.py in_utc)
    if annotation is bool:
        return "checkbox"
    if annotation is int:
        return "number"
    if annotation is float:
        return "decimal"  # a number input that takes fractions
    field = admin.model._meta.by_name.get(name)
    rules = admin.schema.model_fields[name].metadata
    rule_max = next((r.max_length for r in rules if hasattr(r, "max_length")), None)
    longest = rule_max or (field.max_length if isinstance(field, TextField) else None)
    return "textarea" if longest is None or longest > LONG_TEXT else "text"


def _shown(value: Any, kind: str) -> str:
    """The input's value: a datetime as a datetime-local input takes it, in UTC; a list
    as comma-separated text."""
    if value is None or kind == "checkbox":
        return ""
    if isinstance(value, datetime) and kind == "datetime-local":
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def form_fields(admin: ModelAdmin, values: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """{name, label, kind, attrs, value, checked, error} for each editable field."""
    if admin.schema is None:
        return []
    attrs = form_attrs(admin.schema)
    fields = []
    for name in admin.editable:
        info, value = admin.schema.model_fields[name], values.get(name)
        kind = _kind(admin, name)
        checked = value is True or (isinstance(value, str) and value.lower() in TRUE)
        fields.append(
            {
                "name": name,
                "label": (info.title or name.replace("_", " ").capitalize())
                + (" (UTC)" if kind == "datetime-local" else ""),
                "kind": kind,
                "attrs": attrs[name] if kind != "checkbox" else Markup(""),
                "value": _shown(value, kind),
                "checked": checked,
                "error": errors.get(name),
            }
        )
    return fields


def submitted(admin: ModelAdmin, form: MultiMapping[str], row: Model | None) -> dict[str, Any]:
    """What the schema validates: the form's editable fields (an unticked checkbox is
    False; a ticked one's value is the schema's to judge, as in the app's own forms), and
    for an edit the row's values of the schema's read-only fields."""
    data: dict[str, Any] = {}
    if row is not None:
        data = {name: getattr(row, name) for name in admin.schema.model_fields}
    for name in admin.editable:
        if _kind(admin, name) == "checkbox":
            data[name] = form.get(name, False)
        elif name in form:
            data[name] = form[name]
        else:
            data.pop(name, None)  # missing: the schema says if it is required
    return data
