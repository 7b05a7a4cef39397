"""The generator's field specs and name checks (www/scaffold/spec.py): what is accepted,
and that anything else is one clear SpecError, never a crash or a bad identifier."""

import keyword
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from www.scaffold.spec import (
    MAX_STR_LENGTH,
    STR_LENGTH,
    TEXT_LENGTH,
    FieldSpec,
    SpecError,
    check_model_name,
    parse,
    parse_field,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title:str", FieldSpec("title", "str", max_length=STR_LENGTH)),
        ("title:str:80", FieldSpec("title", "str", max_length=80)),
        ("title:str:80?", FieldSpec("title", "str", optional=True, max_length=80)),
        ("notes:text?", FieldSpec("notes", "text", optional=True, max_length=TEXT_LENGTH)),
        ("rating:int", FieldSpec("rating", "int")),
        ("score:float?", FieldSpec("score", "float", optional=True)),
        ("published:bool", FieldSpec("published", "bool")),
        ("due:datetime?", FieldSpec("due", "datetime", optional=True)),
        ("post:ref:Post", FieldSpec("post", "ref", target="Post")),
        ("parent:ref:Post?", FieldSpec("parent", "ref", optional=True, target="Post")),
        ("owner:user", FieldSpec("owner", "user")),
    ],
)
def test_field_specs(text, expected):
    assert parse_field(text) == expected


def test_columns_labels_and_inputs():
    assert parse_field("owner:user").column == "owner_id"
    assert parse_field("post:ref:Post").column == "post_id"
    assert parse_field("due_at:datetime").column == "due_at"
    assert parse_field("due_at:datetime").label == "Due at"
    assert not parse_field("owner:user").is_input
    assert parse_field("post:ref:Post").is_input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title", "unknown type ''"),
        ("title:string", "unknown type 'string'"),
        ("Title:str", "lower case letters"),
        ("2nd:str", "lower case letters"),
        ("ti-tle:str", "lower case letters"),
        (":str", "lower case letters"),
        ("class:str", "Python keyword"),
        ("import:str", "Python keyword"),
        ("id:int", "is taken"),
        ("created_at:datetime", "is taken"),
        ("csrf_token:str", "is taken"),
        ("save:str", "is taken"),
        ("title:str:0", "a number from 1"),
        ("title:str:x", "a number from 1"),
        (f"title:str:{MAX_STR_LENGTH + 1}", "a number from 1"),
        ("title:str:٣", "a number from 1"),
        ("notes:text:80", "takes no argument"),
        ("post:ref", "names a model"),
        ("post:ref:post", "names a model"),
        ("post_id:ref:Post", "name it post"),
        ("owner:user?", "never empty"),
    ],
)
def test_bad_field_specs(text, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        parse_field(text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([], "at least one field"),
        (["owner:user"], "besides the owner"),
        (["a:user", "b:user"], "only one field is the owner"),
        (["title:str", "title:text"], "given twice"),
        (["post:ref:Post", "post_id:int"], "given twice"),
        (["order:int"], "reserved word in SQL"),
        (["where:str"], "reserved word in SQL"),
    ],
)
def test_bad_field_lists(fields, message):
    with pytest.raises(SpecError, match=message):
        parse("Bookmark", fields)


def test_a_reserved_name_is_fine_when_its_column_is_not():
    assert parse("Bookmark", ["title:str", "user:user"]).owner.column == "user_id"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("None", "Python keyword"),
        ("class", "Python keyword"),
        ("bookmark", "CamelCase"),
        ("Book_mark", "CamelCase"),
        ("Bookmärk", "CamelCase"),
        ("", "CamelCase"),
        ("Value", "reserved word in SQL"),
        ("Page", "already uses"),
        ("Form", "already uses"),
    ],
)
def test_bad_model_names(name, message):
    with pytest.raises(SpecError, match=message):
        check_model_name(name)


def test_names_of_a_resource():
    resource = parse("BlogEntry", ["title:str", "author:user"])
    assert (resource.package, resource.slug, resource.singular) == (
        "blog_entries",
        "blog-entries",
        "blog_entry",
    )
    assert (resource.title, resource.words) == ("Blog entries", "blog entry")
    assert resource.heading.name == "title" and resource.owner.name == "author"
    assert [f.name for f in resource.inputs] == ["title"]


@given(st.text(max_size=30))
def test_any_model_name_is_accepted_as_a_safe_identifier_or_refused(name):
    try:
        check_model_name(name)
    except SpecError as exc:
        assert str(exc)
        return
    resource = parse(name, ["title:str"])
    assert re.fullmatch(r"[a-z][a-z0-9_]*", resource.package)
    assert not keyword.iskeyword(resource.package)
    assert resource.package.isidentifier() and resource.singular.isidentifier()


@given(st.text(max_size=40))
def test_any_field_spec_is_parsed_or_refused_with_a_message(text):
    try:
        spec = parse_field(text)
    except SpecError as exc:
        assert str(exc)
        return
    assert spec.column.isidentifier() and not keyword.iskeyword(spec.column)


def test_soft_keywords_are_fine_field_names():
    """`match`, `case`, `type` are names as well as keywords in some statements."""
    assert [parse_field(f"{name}:str").name for name in ("match", "case", "type")] == [
        "match",
        "case",
        "type",
    ]
