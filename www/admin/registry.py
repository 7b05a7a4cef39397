"""Every model the admin shows: those the resources' admin.py declare (`ADMIN = [...]`),
then a default ModelAdmin for every other model of www/models.py, so a new model is
listed without a line of code. `enabled=False` in an admin.py leaves one out."""

from functools import cache

from ..models import MODELS
from ..orm import ForeignKey, Model
from ..resources import modules
from .models import AdminChange
from .options import ModelAdmin


@cache
def registry() -> dict[str, ModelAdmin]:
    """The shown models' admins by table name, in the order of MODELS."""
    declared: dict[type[Model], ModelAdmin] = {}
    for module in modules("admin"):
        for admin in module.ADMIN:
            if admin.model in declared:
                raise ValueError(f"{admin.model.__name__} has two ModelAdmins ({module.__name__})")
            declared[admin.model] = admin
    found = {}
    for model in MODELS:
        admin = declared.get(model) or ModelAdmin(model)
        # The audit log is shown by /admin/audit, and never changed.
        if admin.enabled and model is not AdminChange:
            found[model._meta.table] = admin
    return found


def dependents(model: type[Model]) -> list[tuple[type[Model], ForeignKey]]:
    """The (model, foreign key) pairs that point at `model`: what a delete cascades to
    (on_delete CASCADE), unlinks (SET NULL) or is refused by (RESTRICT, NO ACTION)."""
    return [
        (other, field)
        for other in MODELS
        for field in other._meta.fields
        if isinstance(field, ForeignKey) and field.model is model
    ]
