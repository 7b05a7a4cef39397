"""The list pages' query, from their URL: ?sort=-title&q=word&is_admin=1&page=2.

Only the admin's own names reach the ORM (which quotes declared names and sends every
value as a parameter): sorting by a column that is not shown, or filtering by a field
that is not a filter, is a BadParameter (400), never SQL.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from multidict import MultiMapping

from ..orm import BooleanField, DateTimeField, IntegerField, Query, TextField
from ..routing import positive_int
from ..schemas import is_utf8
from .options import ModelAdmin

RESERVED = ("page", "sort", "q")  # the other parameters are filters
MAX_SEARCH = 200  # characters of a search
MAX_ID = 10**18 - 1  # ids are at most 18 digits (www/routing.py)
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class BadParameter(ValueError):
    """A list parameter that is not one of the admin's, or a value it cannot read."""


@dataclass
class ListState:
    """What a list shows, to keep in its links and forms."""

    sort: str
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)

    def params(self, **changes: str) -> dict[str, str]:
        params = {"sort": self.sort, "q": self.q, **self.filters, **changes}
        return {key: value for key, value in params.items() if value}


def read_state(admin: ModelAdmin, params: MultiMapping[str]) -> ListState:
    """The list's state from the query string; raises BadParameter."""
    for key in params:
        if len(params.getall(key)) > 1:
            raise BadParameter(f"{key!r} is given more than once.")
    sort = params.get("sort", "") or ",".join(admin.order)
    for name in sort.split(","):
        if name.removeprefix("-") not in admin.columns:
            raise BadParameter(f"The list cannot be sorted by {name[:64]!r}.")
    q = _text(params.get("q", ""), "The search")
    if q and not admin.searched:
        raise BadParameter("This list has no text to search.")
    filters = {}
    for key, value in params.items():
        if key in RESERVED:
            continue
        if key not in admin.filters:
            raise BadParameter(f"The list cannot be filtered by {key[:64]!r}.")
        if value:
            filters[key] = value
    return ListState(sort, q, filters)


def list_query(admin: ModelAdmin, db: Any, state: ListState) -> Query:
    """The rows the state selects, in its order, the primary key last (pages never overlap,
    and the CSV's batches neither)."""
    query = admin.model.select(db)
    for name, raw in state.filters.items():
        query = _filtered(admin, query, name, raw)
    if state.q:
        query = query.where_any_contains(admin.searched, state.q)
    order = state.sort.split(",")
    pk = admin.model._meta.pk.name
    if pk not in (name.removeprefix("-") for name in order):
        order.append(("-" if order[0].startswith("-") else "") + pk)
    return query.order_by(*order)


def _filtered(admin: ModelAdmin, query: Query, name: str, raw: str) -> Query:
    field = admin.model._meta.field(name)
    if isinstance(field, BooleanField):
        if raw.lower() not in (*TRUE, *FALSE):
            raise BadParameter(f"{name}: expected yes or no.")
        return query.where(**{name: raw.lower() in TRUE})
    if isinstance(field, IntegerField):  # foreign keys too
        number = positive_int(raw, MAX_ID) if raw != "0" else 0
        if number is None:
            raise BadParameter(f"{name}: expected a whole number.")
        return query.where(**{name: number})
    if isinstance(field, DateTimeField):  # a day, in UTC
        try:
            day = date.fromisoformat(raw) if raw.isascii() and len(raw) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise BadParameter(f"{name}: expected a date (YYYY-MM-DD).")
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if day == date.max:  # no next day to stop at
            return query.where(**{f"{name}__gte": start})
        return query.where(**{f"{name}__gte": start, f"{name}__lt": start + timedelta(days=1)})
    if isinstance(field, TextField):
        return query.where(**{name: _text(raw, name)})
    raise BadParameter(f"The list cannot be filtered by {name!r}.")  # a float: not offered


def _text(value: str, what: str) -> str:
    value = value.strip()
    if len(value) > MAX_SEARCH or "\x00" in value or not is_utf8(value):
        raise BadParameter(f"{what}: at most {MAX_SEARCH} characters of text.")
    return value
