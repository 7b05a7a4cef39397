"""The OpenAPI document (www/openapi.py): valid, complete, and true to the app's responses."""

import re

import jsonschema_rs  # comes with schemathesis (requirements-dev.txt)
import pytest
import schemathesis
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from www import DB
from www.forms import POST_LIMITS
from www.models import Blog, Comment
from www.openapi import build_document
from www.views.api import MAX_PAGE, MAX_PER_PAGE

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
UNSAFE = {"post", "put", "patch", "delete"}


@pytest.fixture
def document(settings):
    return build_document(settings.session.cookie_name)


def operations(document):
    """(method, path, operation) for every operation of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


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
    for ref in refs(document):
        assert re.fullmatch(r"#/components/schemas/\w+", ref), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref
    # schemathesis accepts it, and can read every operation (parameters, bodies, responses).
    loaded = schemathesis.openapi.from_dict(document, config=schemathesis.Config())
    loaded.validate()
    results = list(loaded.get_all_operations())
    assert len(results) == len(list(operations(document)))
    assert all(result.ok() for result in results)


def test_the_validator_catches_mistakes(document):
    """The check above can fail: a response without a description is refused."""
    del document["paths"]["/api/posts"]["get"]["responses"]["200"]["description"]
    assert not OPENAPI_31_VALIDATOR.is_valid(document)


def test_describes_every_api_route_and_nothing_else(app, document):
    routed = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/"):
            routed.add((route.method.lower(), re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)))
    documented = {(method, path) for method, path, _ in operations(document)}
    assert len(routed) == 11
    assert documented == routed


def test_names_the_contract_schemas_and_security(document):
    components = document["components"]
    for name in ("User", "Post", "Comment", "Error", "ValidationError", "PostPage", "Session"):
        assert name in components["schemas"]
    assert components["schemas"]["User"]["properties"].keys() == {"id", "name"}
    session, csrf = components["securitySchemes"]["session"], components["securitySchemes"]["csrf"]
    assert (session["in"], session["name"]) == ("cookie", "www_session")
    assert (csrf["in"], csrf["name"]) == ("header", "X-CSRF-Token")


def test_every_operation_documents_its_errors(document):
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        expected = set()
        if method in UNSAFE:
            expected |= {"403"}
            assert operation["security"] == [{"session": [], "csrf": []}], where
        if method in UNSAFE and (method, path) != ("delete", "/api/session"):
            expected |= {"401"}
        if "{id}" in path:
            expected |= {"404"}
        if "requestBody" in operation:
            expected |= {"400", "413", "415", "422"}
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            target = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
            assert target["additionalProperties"] is False, where  # unknown keys: 422
        if path == "/api/posts" and method == "get":
            expected |= {"422"}
        errors = {code for code in responses if code[0] in "45"}
        assert errors == expected | {"5XX"}, where
        for code in errors:
            schema = responses[code]["content"]["application/json"]["schema"]
            name = "ValidationError" if code == "422" else "Error"
            assert schema == {"$ref": f"#/components/schemas/{name}"}, (where, code)
        for code, response in responses.items():
            if code == "204":
                assert "content" not in response, where
        assert sum(code.startswith("2") for code in responses) == 1, where


def validator(document, name):
    """A validator of component schema `name`, resolving its $refs within the document."""
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.validator_for(root)


async def test_real_responses_match_the_schemas(auth, client, app, document):
    """The schemas are strict (no extra keys): real responses must fit them exactly."""
    alice = await auth.login_as("alice")
    post = await Blog.create(app[DB], user_id=alice.id, title="T")
    await Comment.create(app[DB], blog_id=post.id, user_id=alice.id, content="c")
    checks = [
        ("/api/session", "Session"),
        ("/api/posts", "PostPage"),
        (f"/api/posts/{post.id}", "Post"),
        (f"/api/posts/{post.id}/comments", "CommentList"),
        ("/api/posts/999", "Error"),
        ("/api/posts?per_page=0", "ValidationError"),
    ]
    for path, name in checks:
        body = await (await client.get(path)).json()
        errors = [e.message for e in validator(document, name).iter_errors(body)]
        assert errors == [], (path, errors)
    # ...and a response with an extra key would not.
    body = await (await client.get(f"/api/posts/{post.id}")).json()
    body["author"]["email"] = alice.email
    assert not validator(document, "Post").is_valid(body)


def test_limits_match_the_views_and_forms(document):
    parameters = document["paths"]["/api/posts"]["get"]["parameters"]
    limits = {p["name"]: (p["schema"]["minimum"], p["schema"]["maximum"]) for p in parameters}
    assert limits == {"page": (1, MAX_PAGE), "per_page": (1, MAX_PER_PAGE)}
    fields = document["components"]["schemas"]["NewPost"]["properties"]
    assert {name: (f["minLength"], f["maxLength"]) for name, f in fields.items()} == POST_LIMITS
