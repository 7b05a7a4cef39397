"""The OpenAPI document (www/openapi.py): valid, complete, and true to the app.

Nothing here lists the API's routes: the checks walk the app's router and the document,
so a route added tomorrow is checked the same way. The errors and limits the document
promises are provoked for real, from what the document itself says.
"""

import inspect
import io
import re

import aiohttp
import jsonschema_rs  # comes with schemathesis (requirements-dev.txt)
import limits as rates
import pytest
import schemathesis
from aiohttp import web
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from tests.helpers import make_row
from www import CONFIG, DB
from www.api import PREFIX, operation
from www.openapi import build
from www.posts.models import Comment, Post
from www.resources import models
from www.routing import walk

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
UNSAFE = {"post", "put", "patch", "delete"}
PUBLIC = [{}, {"bearerAuth": []}, {"session": []}]
TOKEN_ONLY = [{"bearerAuth": []}, {"session": [], "csrf": []}]
BODY_ERRORS = {"400", "413", "415", "422"}
PASSWORD = "correct horse"
TOO_LARGE = 2 * 1024 * 1024 + 1  # bytes: over the app's client_max_size


def api_app(app: web.Application) -> web.Application:
    """The /api sub-application."""
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            info = resource.get_info()
            if info["prefix"] == PREFIX:
                return info["app"]
    raise LookupError(PREFIX)


@pytest.fixture
def document(app, settings):
    return build(api_app(app), settings.session.cookie_name)


# Pages about the API, not operations of it: the reference page (www/apidocs.py) is HTML
# served by the main application, and no part of the document it shows.
API_PAGES = {"api.docs"}


def routed(app) -> dict[tuple[str, str], object]:
    """(method, path) -> handler, for every route of the whole app under /api/ (HEAD aside),
    but the API_PAGES."""
    found = {}
    for _, resource in walk(app):
        if resource.canonical.startswith(PREFIX + "/") and resource.name not in API_PAGES:
            for route in resource:
                if route.method != "HEAD":
                    found[(route.method.lower(), resource.canonical)] = route.handler
    return found


def operations(document):
    """(method, path, operation) for every operation of the document."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def refs(node):
    """Every $ref in the document, wherever it is."""
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def component(document, schema: dict) -> dict:
    return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]


def validator(document, schema: dict):
    """A validator of `schema`, resolving its $refs within the document."""
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


async def conforms(resp, operation: dict, document) -> dict | None:
    """Check `resp` against `operation`: a documented status, its headers, its schema.
    Returns the JSON body (None for an empty one)."""
    responses = operation["responses"]
    key = str(resp.status) if str(resp.status) in responses else f"{resp.status // 100}XX"
    text = await resp.text()
    assert key in responses, (operation["operationId"], resp.status, text)
    documented = responses[key]
    for name, header in documented.get("headers", {}).items():
        assert not header["required"] or name in resp.headers, (operation["operationId"], name)
    if "content" not in documented:
        assert text == "", operation["operationId"]
        return None
    assert resp.content_type == "application/json"
    body = await resp.json()
    errors = [
        e.message
        for e in validator(
            document, documented["content"]["application/json"]["schema"]
        ).iter_errors(body)
    ]
    assert errors == [], (operation["operationId"], resp.status, body)
    return body


async def log_in(client, email: str) -> str:
    """Log in through the API; returns the new session's CSRF token."""
    token = (await (await client.get("/api/session")).json())["csrf_token"]
    resp = await client.post(
        "/api/session",
        json={"email": email, "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert resp.status == 200, await resp.text()
    return (await resp.json())["csrf_token"]


# --- the document itself --------------------------------------------------------------------


async def test_served_as_json(client, document):
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == document


def test_is_a_valid_openapi_31_document(document):
    errors = [
        f"{list(e.instance_path)}: {e.message}" for e in OPENAPI_31_VALIDATOR.iter_errors(document)
    ]
    assert errors == []
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        assert jsonschema_rs.meta.is_valid(schema), name
        if "properties" in schema:  # our objects are closed: an unknown key is a mistake
            assert schema["additionalProperties"] is False, name
    for ref in refs(document):
        assert re.fullmatch(r"#/components/schemas/[\w.-]+", ref), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref
    # schemathesis accepts it, and can read every operation (parameters, bodies, responses).
    loaded = schemathesis.openapi.from_dict(document, config=schemathesis.Config())
    loaded.validate()
    results = list(loaded.get_all_operations())
    assert len(results) == len(list(operations(document)))
    assert all(result.ok() for result in results)


def test_the_validator_catches_mistakes(document):
    """The check above can fail: a response without a description is refused."""
    _, _, first = next(operations(document))
    del next(iter(first["responses"].values()))["description"]
    assert not OPENAPI_31_VALIDATOR.is_valid(document)


def test_describes_every_api_route_and_nothing_else(app, document):
    handlers = routed(app)
    documented = {(method, path): op for method, path, op in operations(document)}
    assert handlers  # the walk found the API
    assert documented.keys() == handlers.keys()
    for key, op in documented.items():
        handler = handlers[key]
        assert op["operationId"] == handler.__name__, key
        assert " ".join(inspect.getdoc(handler).split()).startswith(op["summary"]), key
        assert op["tags"] and all(
            tag in {t["name"] for t in document["tags"]} for tag in op["tags"]
        )
    ids = [op["operationId"] for op in documented.values()]
    assert len(ids) == len(set(ids))


def test_names_the_security_schemes(document, settings):
    schemes = document["components"]["securitySchemes"]
    assert (schemes["session"]["in"], schemes["session"]["name"]) == (
        "cookie",
        settings.session.cookie_name,
    )
    assert (schemes["csrf"]["in"], schemes["csrf"]["name"]) == ("header", "X-CSRF-Token")
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")


def test_every_operation_takes_a_bearer_token(app, document):
    """Every route of the router (not a list of them) is documented as taking an API
    token, with the 401 a bad one gets, anonymous reads included."""
    handlers = routed(app)
    assert handlers
    for method, path in handlers:
        op = document["paths"][path][method]
        assert {"bearerAuth": []} in op["security"], (method, path)
        assert "401" in op["responses"], (method, path)


async def undocumented(request):
    """A handler without @operation."""
    return web.Response()


@operation()
async def no_docstring(request):
    return web.Response()


@operation()
async def named_part(request):
    """A path part that is not an id."""
    return web.Response()


@pytest.mark.parametrize(
    ("path", "handler", "complaint"),
    [
        ("/things", undocumented, "@operation"),
        ("/things", no_docstring, "docstring"),
        ("/things/{name}", named_part, "{name}"),
    ],
)
def test_a_route_it_cannot_describe_stops_the_app(path, handler, complaint):
    api = web.Application()
    api.router.add_post(path, handler)
    with pytest.raises(TypeError, match=re.escape(complaint)):
        build(api, "www_session")


def test_every_operation_documents_its_errors(app, document):
    """The errors a route's shape implies: a bad bearer token (401, everywhere; 429 past
    the limit of bad ones), the CSRF
    check on unsafe methods (403), an {id} to find (404), a body (400, 413, 415, 422), a
    query (422), what the handler declares beyond those, and 5XX everywhere."""
    handlers = routed(app)
    for method, path, op in operations(document):
        handler, where = handlers[(method, path)], f"{method.upper()} {path}"
        declared = handler.operation
        expected = {"5XX", "401", "429", *map(str, declared.errors)}
        if method in UNSAFE:
            expected.add("403")
            assert op["security"] == TOKEN_ONLY, where
        else:
            assert op["security"] == PUBLIC, where
        if "{id}" in path:
            expected.add("404")
        if declared.body:
            expected |= BODY_ERRORS
            schema = component(document, op["requestBody"]["content"]["application/json"]["schema"])
            assert schema["additionalProperties"] is False, where  # unknown keys: 422
            assert schema["properties"].keys() == declared.body.model_fields.keys(), where
            if declared.partial:
                assert not schema.get("required"), where
        elif declared.upload:  # a file, streamed: multipart, its errors declared
            schema = op["requestBody"]["content"]["multipart/form-data"]["schema"]
            assert schema["required"] == [declared.upload], where
        else:
            assert "requestBody" not in op, where
        if declared.query:
            expected.add("422")
            names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            assert names == declared.query.model_fields.keys(), where
        responses = op["responses"]
        assert {code for code in responses if code[0] in "45"} == expected, where
        for code in expected:
            schema = responses[code]["content"]["application/json"]["schema"]
            name = "ValidationError" if code == "422" else "Error"
            assert schema == {"$ref": f"#/components/schemas/{name}"}, (where, code)
        success = [code for code in responses if code.startswith("2")]
        answers = declared.response is not None or declared.download
        assert success == [str(declared.status if answers else 204)], where
        assert ("content" in responses[success[0]]) == answers, where
        if declared.download:
            assert list(responses[success[0]]["content"]) == ["application/octet-stream"], where


# --- the document against the app -----------------------------------------------------------


async def rows_everywhere(app) -> None:
    """A row in every resource's table that has none: made after the test's post, each
    is its table's first, with the post's id (1), so each route's {id} finds a row."""
    for model in models():
        if not await model.select(app[DB]).exists():
            await make_row(app[DB], model)


async def test_real_responses_match_the_schemas(auth, client, app, document):
    """Every GET answering JSON, on data that exists: the status and body are the
    documented ones (401 anonymously where a login is needed; the user is an admin, who may
    see any row). The schemas are strict (no extra keys), so a body must fit its schema
    exactly. Downloads (bytes) are tested by their resource (tests/files/test_api.py)."""
    handlers = routed(app)
    alice = await auth.create_user("alice", is_admin=True)
    post = await Post.create(app[DB], user_id=alice.id, title="T", summary="S", content="*c*")
    await Comment.create(app[DB], post_id=post.id, user_id=alice.id, content="c")
    await rows_everywhere(app)
    gets = [
        (path, op)
        for method, path, op in operations(document)
        if method == "get" and "application/json" in op["responses"]["200"]["content"]
    ]
    assert gets
    for logged_in in (False, True):
        if logged_in:
            await log_in(client, alice.email)
        for path, op in gets:
            resp = await client.get(path.replace("{id}", str(post.id)))
            if not logged_in and getattr(handlers[("get", path)], "login_required", False):
                assert resp.status == 401, path
                await conforms(resp, op, document)
                continue
            assert resp.status == 200, path
            body = await conforms(resp, op, document)
            # ...and the same body with one key more would not fit.
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            assert not validator(document, schema).is_valid({**body, "unexpected": 1}), path


async def test_the_app_answers_the_documented_errors(auth, client, app, document, clock):
    """Each error a route's shape implies, provoked for real: the app answers with it, in
    the documented schema. Only the errors a handler declares itself are left to
    tests/test_api.py and schemathesis, having no generic cause."""
    handlers = routed(app)
    alice = await auth.create_user("alice", is_admin=True)  # some resources: admins only
    post = await Post.create(app[DB], user_id=alice.id, title="T")
    await rows_everywhere(app)
    provoked: dict[tuple[str, str], set[str]] = {key: set() for key in handlers}

    async def expect(status, method, path, op, url=None, **kwargs):
        url = url or path.replace("{id}", str(post.id))
        resp = await client.request(method, url, **kwargs)
        body = await conforms(resp, op, document)
        assert resp.status == status, (method, url, status, body)
        provoked[(method, path)].add(str(status))
        return body

    anonymous = (await (await client.get("/api/session")).json())["csrf_token"]
    bad_tokens = rates.parse(app[CONFIG].rate_limits.bearer_failure_address)
    for method, path, op in operations(document):
        empty = {"json": {}} if method in UNSAFE else {}
        if method in UNSAFE:  # no token
            await expect(403, method, path, op, **empty)
        wrong = {"Authorization": "Bearer www_not-a-token"}  # 401 anywhere, even on a read
        await expect(401, method, path, op, headers=wrong, **empty)
        clock.advance(2 * bad_tokens.get_expiry())  # however many routes: never a 429 here
        if getattr(handlers[(method, path)], "login_required", False):
            await expect(401, method, path, op, headers={"X-CSRF-Token": anonymous}, **empty)

    # Past rate_limits.bearer_failure_address, a bad token is a 429 anywhere.
    for _ in range(bad_tokens.amount):
        await client.get("/api/session", headers=wrong)
    for method, path, op in operations(document):
        empty = {"json": {}} if method in UNSAFE else {}
        await expect(429, method, path, op, headers=wrong, **empty)
    clock.advance(2 * bad_tokens.get_expiry())  # and the limit is out of the way again

    token = await log_in(client, alice.email)
    headers = {"X-CSRF-Token": token}
    as_json = {**headers, "Content-Type": "application/json"}
    for method, path, op in operations(document):
        empty = {"json": {}} if method in UNSAFE else {}
        for parameter in document["paths"][path].get("parameters", []):  # path ids
            missing = path.replace("{id}", str(parameter["schema"]["maximum"]))
            await expect(404, method, path, op, url=missing, headers=headers, **empty)
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            plain = {**headers, "Content-Type": "text/plain"}
            await expect(415, method, path, op, data="{}", headers=plain)
            await expect(400, method, path, op, data="{", headers=as_json)
            await expect(400, method, path, op, json=["not", "an", "object"], headers=headers)
            huge = io.BytesIO(b'{"x": "' + b"x" * TOO_LARGE + b'"}')
            await expect(413, method, path, op, data=huge, headers=as_json)
            body = await expect(422, method, path, op, json={"no_such_key": 1}, headers=headers)
            assert "no_such_key" in body["error"]["fields"]
        for parameter in op.get("parameters", []):
            if "string" in types_of(parameter["schema"]):
                continue  # text ("x" is a fine tag or search): tests/posts refuse theirs
            url = f"{path.replace('{id}', str(post.id))}?{parameter['name']}=x"
            body = await expect(422, method, path, op, url=url, headers=headers)
            assert parameter["name"] in body["error"]["fields"]

    for method, path, op in operations(document):
        declared = {str(code) for code in handlers[(method, path)].operation.errors}
        documented = {code for code in op["responses"] if code[0] == "4"}
        assert documented - declared == provoked[(method, path)] - declared, (method, path)


def types_of(schema: dict) -> set[str]:
    """The JSON types a schema allows (an optional one's branches included)."""
    return {branch.get("type") for branch in [schema, *schema.get("anyOf", ())]} - {None}


BOUNDS = {"min_length": "minLength", "max_length": "maxLength", "ge": "minimum", "le": "maximum"}


def bounds(field) -> dict[str, int]:
    """A pydantic field's limits, under their JSON Schema names."""
    found = {}
    for rule in field.metadata:
        for attribute, keyword in BOUNDS.items():
            if getattr(rule, attribute, None) is not None:
                found[keyword] = getattr(rule, attribute)
    return found


def limits(schema: dict) -> dict[str, int]:
    """A JSON Schema's limits (an optional field's are on its branch that is not null)."""
    for branch in schema.get("anyOf", ()):
        if branch.get("type") != "null":
            schema = {**schema, **branch}
    return {keyword: schema[keyword] for keyword in BOUNDS.values() if keyword in schema}


def test_the_documented_limits_are_the_schemas(app, document):
    """Each body field and query parameter has its schema's bounds, no more, no fewer."""
    handlers = routed(app)
    checked = 0
    for method, path, op in operations(document):
        declared = handlers[(method, path)].operation
        if declared.body:
            schema = component(document, op["requestBody"]["content"]["application/json"]["schema"])
            for name, field in declared.body.model_fields.items():
                assert limits(schema["properties"][name]) == bounds(field), (method, path, name)
                checked += 1
        if declared.query:
            for parameter in op["parameters"]:
                field = declared.query.model_fields[parameter["name"]]
                assert limits(parameter["schema"]) == bounds(field), (path, parameter["name"])
                checked += 1
    assert checked


def test_path_ids_are_the_routers(app, document):
    """The documented range of an {id} is what the router takes: its maximum is routed to
    the operation, one more digit is not."""
    patterns = {resource.canonical: resource.get_info().get("pattern") for _, resource in walk(app)}
    checked = 0
    for path, item in document["paths"].items():
        for parameter in item.get("parameters", []):
            schema = parameter["schema"]
            assert (schema["type"], schema["minimum"]) == ("integer", 1), path
            for value, routed_here in ((schema["maximum"], True), (schema["maximum"] + 1, False)):
                url = path.replace("{" + parameter["name"] + "}", str(value))
                assert bool(patterns[path].fullmatch(url)) == routed_here, url
                checked += 1
    assert checked


def minimal_body(schema: dict) -> dict:
    """The smallest valid body: each required text field at its minimum length, a number
    at 1 or its minimum (an id: rows_everywhere() made it), a date, false."""
    return {name: minimal_value(schema["properties"][name]) for name in schema.get("required", [])}


def minimal_value(field: dict):
    if field.get("type") in ("integer", "number"):
        value = max(1, field.get("minimum", 1))
        return min(value, field.get("maximum", value))
    if field.get("type") == "boolean":
        return False
    if field.get("format") == "date-time":
        return "2030-01-01T00:00:00+00:00"
    return "x" * field.get("minLength", 0)


async def test_the_documented_limits_are_the_apps(auth, client, app, document):
    """At each documented bound the app takes the value (and stores it: the columns hold
    what the schemas let through); one past it, it answers 422 for that field."""
    alice = await auth.create_user("alice", is_admin=True)  # some resources: admins only
    post = await Post.create(app[DB], user_id=alice.id, title="T")
    await rows_everywhere(app)
    headers = {"X-CSRF-Token": await log_in(client, alice.email)}
    checked = 0
    for method, path, op in operations(document):
        url = path.replace("{id}", str(post.id))
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            schema = component(document, op["requestBody"]["content"]["application/json"]["schema"])
            for name, field in schema["properties"].items():
                cases = []
                if field.get("minLength"):
                    cases += [(field["minLength"], True), (field["minLength"] - 1, False)]
                if "maxLength" in field:
                    cases += [(field["maxLength"], True), (field["maxLength"] + 1, False)]
                for length, fits in cases:
                    body = {**minimal_body(schema), name: "x" * length}
                    resp = await client.request(method, url, json=body, headers=headers)
                    answer = await conforms(resp, op, document)
                    where = (method, path, name, length, resp.status, answer)
                    if fits:  # not refused as invalid (and not a server error either)
                        assert resp.status < 500 and resp.status != 422, where
                    else:
                        assert resp.status == 422 and name in answer["error"]["fields"], where
                    checked += 1
        for parameter in op.get("parameters", []):
            low, high = parameter["schema"].get("minimum"), parameter["schema"].get("maximum")
            cases = [(low, True), (low - 1, False)] if low is not None else []
            cases += [(high, True), (high + 1, False)] if high is not None else []
            for value, fits in cases:
                resp = await client.request(method, f"{url}?{parameter['name']}={value}")
                await conforms(resp, op, document)
                assert resp.status == (200 if fits else 422), (path, parameter["name"], value)
                checked += 1
    assert checked


async def test_created_items_are_where_location_says(auth, client, app, document):
    """A documented Location header is sent, and leads to the new item."""
    alice = await auth.create_user("alice", is_admin=True)  # some resources: admins only
    await Post.create(app[DB], user_id=alice.id, title="T")
    await rows_everywhere(app)
    headers = {"X-CSRF-Token": await log_in(client, alice.email)}
    found = 0
    for method, path, op in operations(document):
        created = op["responses"].get("201", {})
        if "Location" not in created.get("headers", {}):
            continue
        content = op["requestBody"]["content"]
        if "multipart/form-data" in content:  # a file in each part the schema requires
            form = aiohttp.FormData()
            for part in content["multipart/form-data"]["schema"]["required"]:
                form.add_field(part, b"bytes", filename="file.bin")
            resp = await client.request(method, path, data=form, headers=headers)
        else:
            schema = component(document, content["application/json"]["schema"])
            resp = await client.request(method, path, json=minimal_body(schema), headers=headers)
        body = await conforms(resp, op, document)
        assert resp.status == 201
        assert resp.headers["Location"] == f"{path}/{body['id']}"
        assert (await client.get(resp.headers["Location"])).status == 200
        found += 1
    assert found
