"""Small helpers the views share."""

from aiohttp import web

from ..orm import DoesNotExist

MAX_PAGE = 9_999_999  # bounds the OFFSET sent to the database


def positive_int(raw: str, high: int) -> int | None:
    """`raw` as a whole number from 1 to `high` (ASCII digits only), else None."""
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)) and 1 <= int(raw) <= high:
        return int(raw)
    return None


def page_number(request: web.Request) -> int:
    """The 1-based `page` query parameter; 404 for anything but a positive integer."""
    number = positive_int(request.query.get("page", "1"), MAX_PAGE)
    if number is None:
        raise web.HTTPNotFound(text="There is no such page.")
    return number


async def get_or_404(model, db, object_id: str):
    """The `model` row with this id (a route's digits), or 404."""
    obj = await model.get(db, int(object_id))
    if obj is None:
        raise web.HTTPNotFound()
    return obj


async def save_changes(db, obj, values: dict) -> None:
    """Assign `values` to `obj` and save it; 404 if a concurrent request deleted it."""
    for name, value in values.items():
        setattr(obj, name, value)
    try:
        await obj.save(db)
    except DoesNotExist:
        raise web.HTTPNotFound() from None
