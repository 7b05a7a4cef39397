"""The admin's URLs (../shared/CONTRACT.md, "Admin"), every view for administrators only."""

from aiohttp import web

from ..routing import ID
from . import pages
from .access import admin_required as only

TABLE = "{table:[a-z_][a-z0-9_]{0,62}}"

PAGES = [
    web.get("/admin/", only(pages.index), name="admin.index"),
    web.get("/admin/audit", only(pages.audit), name="admin.audit"),
    web.get(f"/admin/{TABLE}/", only(pages.list_rows), name="admin.list"),
    web.get(f"/admin/{TABLE}/export.csv", only(pages.export), name="admin.export"),
    web.get(f"/admin/{TABLE}/new", only(pages.new), name="admin.new"),
    web.post(f"/admin/{TABLE}/new", only(pages.create), name="admin.new"),
    web.get(f"/admin/{TABLE}/delete", only(pages.confirm_bulk_delete), name="admin.bulk_delete"),
    web.post(f"/admin/{TABLE}/delete", only(pages.bulk_delete), name="admin.bulk_delete"),
    web.get(f"/admin/{TABLE}/{ID}", only(pages.edit), name="admin.edit"),
    web.post(f"/admin/{TABLE}/{ID}", only(pages.update), name="admin.edit"),
    web.get(f"/admin/{TABLE}/{ID}/delete", only(pages.confirm_delete), name="admin.delete"),
    web.post(f"/admin/{TABLE}/{ID}/delete", only(pages.delete), name="admin.delete"),
]
