"""A small peewee-like ORM: fields, models and chainable queries.

    class Blog(Model):
        user_id = ForeignKey(User)
        title = TextField(max_length=200)
        created_at = DateTimeField(default=utcnow, index=True)

    post = await Blog.create(db, user_id=1, title="Hello")
    page = await Blog.select(db).where(user_id=1).order_by("-created_at").paginate(1, 20)

Every query names its executor: a ``Database`` or a ``Transaction`` (see www.db). SQL
identifiers come only from declared field names, quoted by the dialect; values always
travel as parameters, validated (null, type, max_length) before any SQL is sent.

Where each part lives: ``fields.py`` (the fields, their checks and conversions, the
errors), ``schema.py`` (what a model's metaclass learned, and its quoted SQL names),
``model.py`` (the metaclass, the row loader, ``Model``'s reads and writes) and
``query.py`` (``Query`` and ``Page``). Import them from here: ``from www.orm import ...``.
"""

from .fields import (
    BooleanField,
    DateTimeField,
    DoesNotExist,
    Field,
    FieldError,
    FloatField,
    ForeignKey,
    IntegerField,
    TextField,
    ValidationError,
    utcnow,
)
from .model import Model, ModelMeta
from .query import Page, Query
from .schema import Schema, TableSQL, table_name

__all__ = [
    "BooleanField",
    "DateTimeField",
    "DoesNotExist",
    "Field",
    "FieldError",
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "Model",
    "ModelMeta",
    "Page",
    "Query",
    "Schema",
    "TableSQL",
    "TextField",
    "ValidationError",
    "table_name",
    "utcnow",
]
