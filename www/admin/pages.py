"""The admin's pages: every model's list, form and delete, the CSV export, the audit log.

Each view is wrapped by access.admin_required (routes.py) before it reads anything. Then:
the table exists (404), the row exists (404), the input is valid (400, the form again).
"""

from aiohttp import web

from .. import bodies
from ..accounts.models import User
from ..auth import flash
from ..db import IntegrityError
from ..keys import CONFIG, DB, URLS, USER
from ..orm import Model, Query, ValidationError
from ..routing import MAX_PAGE, page_number, positive_int, see_other, url_for
from ..schemas import Invalid
from ..templating import render
from . import audit as audit_log
from . import display, queries, writes
from . import export as csv_export
from .forms import form_fields, submitted
from .models import AdminChange
from .options import ModelAdmin, label_of
from .registry import registry

CONFLICT = "This conflicts with another row: a value that must be unique is taken."
NOT_YOURSELF = "Your own administrator rights and account are changed by another administrator."
REFUSED = "Other rows refer to this one and refuse its deletion."


def _admin(request: web.Request) -> ModelAdmin:
    found = registry().get(request.match_info["table"])
    if found is None:
        raise web.HTTPNotFound(text="There is no such table in the admin.")
    return found


async def _row(request: web.Request, admin: ModelAdmin) -> Model:
    row = await admin.model.get(request.config_dict[DB], int(request.match_info["id"]))
    if row is None:
        raise web.HTTPNotFound(text="There is no such row.")
    return row


def _listed(request: web.Request, admin: ModelAdmin) -> tuple[queries.ListState, Query]:
    """The list's state and query from the URL; 400 for a parameter it does not offer."""
    try:
        state = queries.read_state(admin, request.query)
        return state, queries.list_query(admin, request.config_dict[DB], state)
    except ValueError as exc:  # BadParameter, or a value the ORM refuses
        raise web.HTTPBadRequest(text=str(exc)) from None


async def index(request: web.Request) -> web.Response:
    """Every model the admin shows, with its number of rows."""
    db = request.config_dict[DB]
    tables = [(admin, await admin.model.select(db).count()) for admin in registry().values()]
    return render(request, "admin/index.html", {"tables": tables})


async def list_rows(request: web.Request) -> web.Response:
    """A page of a table's rows: ?sort=, ?q=, filters by field, ?page=. 400 for a name
    the list does not offer, 404 for a page past the end."""
    admin, app = _admin(request), request.config_dict
    state, query = _listed(request, admin)
    number = page_number(request)
    page = await query.paginate(number, admin.per_page)
    if number > 1 and not page.items:
        raise web.HTTPNotFound(text="There is no such page.")
    labels = await display.target_labels(app[DB], admin, page.items, admin.columns)
    rows = [display.cells(admin, row, admin.columns, labels, app[URLS]) for row in page.items]
    context = {
        "admin": admin,
        "page": page,
        "rows": rows,
        "ids": [getattr(row, admin.model._meta.pk.name) for row in page.items],
        "state": state,
        "last": max(1, -(-page.total // page.per_page)),
        "filters": [admin.model._meta.by_name[name] for name in admin.filters],
    }
    return render(request, "admin/list.html", context)


async def export(request: web.Request) -> web.StreamResponse:
    """The filtered list (all its pages) as CSV, streamed in batches."""
    admin, app = _admin(request), request.config_dict
    _, query = _listed(request, admin)
    return await csv_export.stream_csv(request, admin, query, app[CONFIG].admin.csv_batch)


def _errors(exc: Exception) -> dict[str, str]:
    """The form's messages for a refused write: the schema's or an action's (Invalid), the
    ORM's check of a value (ValidationError), or a unique value taken (IntegrityError)."""
    if isinstance(exc, Invalid):
        return exc.errors
    if isinstance(exc, ValidationError):
        return {exc.field: f"{exc.field.replace('_', ' ').capitalize()} {exc.message}."}
    return {"__all__": CONFLICT}


def _form(request, admin: ModelAdmin, row, values, errors=None, details=None) -> web.Response:
    context = {
        "admin": admin,
        "row": row,
        "label": row and label_of(row),
        "fields": form_fields(admin, values, errors or {}),
        "errors": errors or {},
        "details": details or [],
    }
    return render(request, "admin/form.html", context, status=400 if errors else 200)


async def new(request: web.Request) -> web.Response:
    admin = _admin(request)
    if not admin.creatable:
        raise web.HTTPNotFound(text="Rows of this table are not created in the admin.")
    return _form(request, admin, None, {})


async def create(request: web.Request) -> web.Response:
    """Validate with the resource's schema, save, and 303 to the new row; 400 with the
    form again (the schema's messages, the input kept)."""
    admin = _admin(request)
    if not admin.creatable:
        raise web.HTTPNotFound(text="Rows of this table are not created in the admin.")
    form = await bodies.form(request)
    try:
        values = admin.schema.parse(submitted(admin, form, None), form=True)
        row = await writes.create_row(request.config_dict, admin, request[USER], values)
    except (Invalid, ValidationError, IntegrityError) as exc:
        return _form(request, admin, None, form, _errors(exc))
    flash(request, f"Created {label_of(row)}.", "success")
    return see_other(url_for(request, "admin.edit", table=admin.table, id=row.id))


async def _details(request: web.Request, admin: ModelAdmin, row: Model) -> list:
    """Every shown field of the row, for the page (read-only ones, or all of them)."""
    names = [field.name for field in admin.fields if field.name not in admin.editable]
    labels = await display.target_labels(request.config_dict[DB], admin, [row], names)
    return display.cells(admin, row, names, labels, request.config_dict[URLS], cut=False)


async def _loaded_row(request: web.Request, admin: ModelAdmin) -> Model:
    """The route's row (or 404), with the schema's fields that are no column (load)."""
    row = await _row(request, admin)
    if admin.load is not None:
        await admin.load(request.config_dict, [row])
    return row


async def edit(request: web.Request) -> web.Response:
    """A row: the form of its editable fields, and the others as text."""
    admin = _admin(request)
    row = await _loaded_row(request, admin)
    values = {name: getattr(row, name) for name in admin.editable}
    return _form(request, admin, row, values, details=await _details(request, admin, row))


async def update(request: web.Request) -> web.Response:
    """Save the form and 303 back to the row; 400 with the form again."""
    admin = _admin(request)
    row = await _loaded_row(request, admin)
    if admin.schema is None:
        raise web.HTTPForbidden(text="This table is read-only in the admin.")
    form = await bodies.form(request)
    try:
        values = admin.schema.parse(submitted(admin, form, row), form=True)
        changes = {name: getattr(values, name) for name in admin.editable}
        if _is_self(request, row) and changes.get("is_admin") is False:
            raise Invalid({"is_admin": NOT_YOURSELF})
        await writes.update_row(request.config_dict, admin, request[USER], row, changes)
    except (Invalid, ValidationError, IntegrityError) as exc:
        fresh = await _row(request, admin)  # the row as saved, for the read-only details
        details = await _details(request, admin, fresh)
        return _form(request, admin, fresh, form, _errors(exc), details)
    flash(request, "The changes are saved.", "success")
    return see_other(url_for(request, "admin.edit", table=admin.table, id=row.id))


def _ids(values: list[str], limit: int) -> list[int]:
    ids = [positive_int(value, 10**18 - 1) for value in values]
    if not ids or None in ids or len(ids) > limit:
        raise web.HTTPBadRequest(text=f"Choose from 1 to {limit} rows (by their ids).")
    return list(dict.fromkeys(ids))  # type: ignore[arg-type] (no None left)


async def _confirm(request, admin: ModelAdmin, rows: list[Model], action: str) -> web.Response:
    ids = [row.id for row in rows]
    context = {
        "admin": admin,
        "rows": [(row.id, label_of(row)) for row in rows],
        "cascades": await display.cascades(request.config_dict[DB], admin.model, ids),
        "action": action,
    }
    return render(request, "admin/delete.html", context)


async def confirm_delete(request: web.Request) -> web.Response:
    """What deleting the row takes with it, and the button that does it."""
    admin = _admin(request)
    row = await _row(request, admin)
    action = url_for(request, "admin.delete", table=admin.table, id=row.id)
    return await _confirm(request, admin, [row], action)


async def confirm_bulk_delete(request: web.Request) -> web.Response:
    """The same for the rows ticked on the list (?id=1&id=2); none ticked: back to it."""
    admin = _admin(request)
    if "id" not in request.query:
        flash(request, "Tick the rows to delete first.", "info")
        return see_other(url_for(request, "admin.list", table=admin.table))
    ids = _ids(request.query.getall("id", []), request.config_dict[CONFIG].admin.max_bulk)
    rows = list((await admin.model.get_many(request.config_dict[DB], ids)).values())
    if not rows:
        raise web.HTTPNotFound(text="Those rows are gone.")
    action = url_for(request, "admin.bulk_delete", table=admin.table)
    return await _confirm(request, admin, sorted(rows, key=lambda row: row.id), action)


def _is_self(request: web.Request, row: Model) -> bool:
    """Whether `row` is the administrator's own account: an administrator who demoted or
    deleted themselves here could lock the site's last administrator out."""
    return isinstance(row, User) and row.id == request[USER].id


async def _delete(request: web.Request, admin: ModelAdmin, rows: list[Model]) -> web.Response:
    if any(_is_self(request, row) for row in rows):
        raise web.HTTPBadRequest(text=NOT_YOURSELF)
    try:
        await writes.delete_rows(request.config_dict, admin, request[USER], rows)
    except IntegrityError:
        raise web.HTTPConflict(text=REFUSED) from None
    flash(request, f"Deleted {len(rows)} row{'s' if len(rows) != 1 else ''}.", "success")
    return see_other(url_for(request, "admin.list", table=admin.table))


async def delete(request: web.Request) -> web.Response:
    admin = _admin(request)
    return await _delete(request, admin, [await _row(request, admin)])


async def bulk_delete(request: web.Request) -> web.Response:
    admin = _admin(request)
    form = await bodies.form(request)
    ids = _ids(form.getall("id", []), request.config_dict[CONFIG].admin.max_bulk)
    rows = list((await admin.model.get_many(request.config_dict[DB], ids)).values())
    return await _delete(request, admin, rows)


async def audit(request: web.Request) -> web.Response:
    """Every change made through the admin, newest first, a page at a time."""
    db, number = request.config_dict[DB], page_number(request)
    per_page = request.config_dict[CONFIG].admin.audit_per_page
    page = await AdminChange.select(db).order_by("-id").paginate(number, per_page)
    if number > 1 and not page.items:
        raise web.HTTPNotFound(text="There is no such page.")
    users = await display.target_labels(db, _AUDIT, page.items, ["user_id"])
    entries = [
        {
            "change": change,
            "who": users["user_id"].get(change.user_id, "(deleted account)"),
            "values": [
                (name, display.text_of(old), display.text_of(new))
                for name, old, new in audit_log.values_of(change)
            ],
            "linked": change.table_name in registry() and change.action != "delete",
        }
        for change in page.items
    ]
    last = min(MAX_PAGE, max(1, -(-page.total // per_page)))
    return render(request, "admin/audit.html", {"page": page, "entries": entries, "last": last})


_AUDIT = ModelAdmin(AdminChange)  # for its user_id labels
