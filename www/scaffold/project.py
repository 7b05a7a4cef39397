"""The project a resource is added to: what exists already (resources, models, URLs), and
the two shared files a resource is registered in, www/resources.py and the navigation.

Each edit is one line, added or removed whole, so that `destroy` gives back the file
exactly as it was before `generate`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .. import resources
from ..db.schema import tables_of
from ..migrate import runner
from ..models import MODELS
from .spec import Resource, SpecError

RESOURCES_FILE = Path("www/resources.py")
BASE_TEMPLATE = Path("templates/base.html")
REGISTRY = re.compile(r"^RESOURCES = \(([^()\n]*)\)$", re.MULTILINE)
# The navigation's first link; a resource's link goes after the last one of the list.
NAV_ANCHOR = re.compile(r"^( *)<li><a href=\"\{\{ 'posts\.index'\|url \}\}\">Home</a></li>$", re.M)
# First path segments the application serves besides its resources' routes.
OWN_PREFIXES = frozenset({"api", "admin", "static", "healthz", "ws"})


def registered(root: Path) -> list[str]:
    """The names in www/resources.py's RESOURCES, as written there."""
    match = REGISTRY.search((root / RESOURCES_FILE).read_text(encoding="utf-8"))
    if match is None:
        raise SpecError(f"{RESOURCES_FILE}: no one-line `RESOURCES = (...)` to add to")
    return re.findall(r"\"([a-z0-9_]+)\"", match[1])


def _set_registry(root: Path, names: list[str]) -> None:
    path = root / RESOURCES_FILE
    listed = ", ".join(f'"{name}"' for name in names)
    line = f"RESOURCES = ({listed},)" if len(names) == 1 else f"RESOURCES = ({listed})"
    path.write_text(REGISTRY.sub(line, path.read_text(encoding="utf-8"), count=1), "utf-8")


def register(root: Path, package: str) -> None:
    _set_registry(root, [*registered(root), package])


def unregister(root: Path, package: str) -> bool:
    names = registered(root)
    if package not in names:
        return False
    _set_registry(root, [name for name in names if name != package])
    return True


def nav_line(resource: Resource) -> str:
    return f"<li><a href=\"{{{{ '{resource.package}.list'|url }}}}\">{resource.title}</a></li>"


def add_nav(root: Path, resource: Resource) -> None:
    """A link to the list for every visitor, after Home and the resources added before."""
    path = root / BASE_TEMPLATE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    anchor = next((i for i, line in enumerate(lines) if NAV_ANCHOR.match(line.rstrip("\n"))), None)
    if anchor is None:
        raise SpecError(f"{BASE_TEMPLATE}: the navigation's Home link was not found")
    indent = NAV_ANCHOR.match(lines[anchor].rstrip("\n"))[1]  # type: ignore[index]
    at = anchor + 1
    while at < len(lines) and re.match(r" *<li><a href=\"\{\{ '[a-z0-9_]+\.list'\|url", lines[at]):
        at += 1
    lines.insert(at, f"{indent}{nav_line(resource)}\n")
    path.write_text("".join(lines), encoding="utf-8")


def remove_nav(root: Path, resource: Resource) -> bool:
    path = root / BASE_TEMPLATE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.strip() != nav_line(resource)]
    if len(kept) == len(lines):
        return False
    path.write_text("".join(kept), encoding="utf-8")
    return True


def url_prefixes() -> set[str]:
    """The first segment of every page's and API route's path: "posts", "login"..."""
    prefixes = set(OWN_PREFIXES)
    for module in resources.modules("routes"):
        for route in [*module.PAGES, *getattr(module, "API", ())]:
            prefixes.add(route.path.strip("/").split("/")[0].split("{")[0])
    return prefixes


def operation_ids() -> set[str]:
    """The API handlers' names: the OpenAPI document's operationIds, unique across resources."""
    return {
        route.handler.__name__
        for module in resources.modules("routes")
        for route in getattr(module, "API", ())
    }


def check_migrations(root: Path) -> None:
    """Refuse to start while the models differ from the migrations: the migration written
    for the resource would hold those other changes too."""
    if runner.state(runner.load(root / "migrations")) != tables_of(MODELS):
        raise SpecError(
            "the models differ from the migrations (python -m www.migrate check): "
            "write that migration first"
        )


def check_clashes(resource: Resource, root: Path, *, force: bool = False) -> Resource:
    """Refuse a resource that exists or would take an existing name or URL; returns it
    with its refs' models found. `force`: a package folder left by an unfinished run
    (not in RESOURCES) may be written over."""
    package, model = resource.package, resource.model
    if package in registered(root):
        raise SpecError(f"{model}: the resource {package} exists already (www/resources.py)")
    for taken in (root / "www" / package, root / "www" / f"{package}.py"):
        if taken.exists() and not (force and taken.is_dir()):
            raise SpecError(f"{model}: www/{taken.name} exists already: choose another name")
    for existing in MODELS:
        if existing.__name__ == model:
            raise SpecError(f"{model}: a model of that name exists ({existing.__module__})")
        if existing._meta.table == package:
            raise SpecError(f"{model}: the table {package} exists ({existing.__module__})")
    for prefix in (package, resource.slug):
        if prefix in url_prefixes():
            raise SpecError(f"{model}: the URLs /{prefix}/... or /api/{prefix} are taken")
    singular = resource.singular
    handlers = {f"list_{package}", *(f"{verb}_{singular}" for verb in ("create", "get"))}
    handlers |= {f"update_{singular}", f"delete_{singular}"}
    if handlers & operation_ids():
        taken = ", ".join(sorted(handlers & operation_ids()))
        raise SpecError(f"{model}: the API already has {taken} (operationIds are unique)")
    by_name = {m.__name__: m for m in MODELS}
    targets = []
    for field in resource.fields:
        if field.type != "ref":
            continue
        target = by_name.get(field.target or "")
        if target is None or not target.__module__.startswith("www."):
            known = ", ".join(sorted(by_name))
            raise SpecError(f"{field.name}:ref:{field.target}: no such model (there are {known})")
        targets.append((target.__name__, target.__module__.removeprefix("www")))
    return replace(resource, targets=tuple(dict.fromkeys(targets)))
