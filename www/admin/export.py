"""export.csv: the current filtered list as CSV, streamed.

Rows are read `admin.csv_batch` at a time (LIMIT/OFFSET in the list's order, which ends
with the primary key, so batches never overlap) and written out before the next batch is
read: memory holds one batch, however long the table. A cell that a spreadsheet would
read as a formula (=, +, -, @, tab, carriage return first) gets a leading apostrophe.
"""

import csv
import io
from typing import Any

from aiohttp import web

from ..orm import Model, Query
from .options import ModelAdmin

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> str:
    """The cell's text, with an apostrophe first if it would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cells(admin: ModelAdmin, row: Model) -> list[str]:
    cells = []
    for name in admin.columns:
        value = getattr(row, name)
        if value is not None and not isinstance(value, bool | int | float):
            value = admin.model._meta.field(name).to_db(value)  # datetimes in ISO 8601
        cells.append(neutralised(value))
    return cells


def _encoded(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


async def stream_csv(
    request: web.Request, admin: ModelAdmin, query: Query, batch: int
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{admin.table}.csv"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    await response.write(_encoded([list(admin.columns)]))
    offset = 0
    while True:
        rows = await query.limit(batch).offset(offset).all()
        if rows:
            await response.write(_encoded([_cells(admin, row) for row in rows]))
        if len(rows) < batch:
            break
        offset += batch
    await response.write_eof()
    return response
