"""The resources that make up the application, in dependency order.

Each name is a package of www/ (see www/posts/ for a complete one) holding:

    models.py   its tables                    schemas.py  its input rules and JSON shapes
    actions.py  loaders and domain actions    pages.py, api.py  thin HTTP adapters
    routes.py   PAGES (and API): named routes

Adding a resource is adding its name here. Its models may refer to those of the
resources listed before it.
"""

from importlib import import_module
from types import ModuleType

from .orm import Model

RESOURCES = ("accounts", "posts", "files")


def modules(kind: str) -> list[ModuleType]:
    """The `kind` module (models, routes...) of every resource that has one."""
    found = []
    for name in RESOURCES:
        try:
            found.append(import_module(f"{__package__}.{name}.{kind}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}.{kind}":
                raise  # a missing import inside the module: not ours to hide
    return found


def models() -> list[type[Model]]:
    """Every model, in the order the resources and their models.py declare them."""
    found = []
    for module in modules("models"):
        for value in vars(module).values():  # in the order of the file
            is_model = isinstance(value, type) and issubclass(value, Model)
            if is_model and value.__module__ == module.__name__:  # not one it imported
                found.append(value)
    return found
