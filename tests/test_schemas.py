"""www/schemas.py: the rules every text field shares, the messages, and the form attributes.

The resources' own rules are tested through HTTP in tests/<resource>/; these are the
shared mechanics, shown on the real schemas.
"""

from datetime import UTC, datetime
from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AfterValidator, BeforeValidator, Field

from www.accounts.schemas import Login, PasswordChange, Registration
from www.posts.models import Post
from www.posts.schemas import CommentIn, PostIn
from www.resources import modules
from www.schemas import (
    MAX_ECHOED_NAME,
    MAX_UNKNOWN_FIELDS,
    Invalid,
    Schema,
    blank_is_none,
    form_attrs,
    in_utc,
)


def errors_of(schema, data, **kwargs):
    with pytest.raises(Invalid) as info:
        schema.parse(data, **kwargs)
    return info.value.errors


def test_registration_clean_values():
    values = Registration.parse(
        {"name": "  Ann ", "email": " Ann@Example.COM ", "password": " spaced pw "}
    )
    assert (values.name, values.email, values.password) == ("Ann", "ann@example.com", " spaced pw ")


def test_registration_missing_everything():
    assert errors_of(Registration, {}) == {
        "name": "Name is required.",
        "email": "Email is required.",
        "password": "Password is required.",
    }


@pytest.mark.parametrize("value", [123, ["a"], {"a": 1}, True])
def test_non_text_values_from_json(value):
    assert errors_of(PostIn, {"title": value})["title"] == "Title must be text."


def test_none_counts_as_empty():
    assert errors_of(PostIn, {"title": None}) == {"title": "Title is required."}
    assert PostIn.parse({"title": "t", "summary": None}).summary == ""


def test_nul_characters_rejected():
    assert errors_of(CommentIn, {"content": "a\x00b"}) == {
        "content": "Comment must not contain NUL characters."
    }


def test_lone_surrogates_rejected():
    assert errors_of(PostIn, {"title": "bad \ud800 text"}) == {
        "title": "Title must be valid Unicode text."
    }


def test_unknown_keys_refused_but_forms_ignore_other_fields():
    assert errors_of(PostIn, {"title": "t", "titel": "x"}) == {"titel": "Unknown field."}
    assert PostIn.parse({"title": "t", "csrf_token": "x"}, form=True).title == "t"


def test_unknown_keys_named_up_to_a_limit_and_cut():
    long = "k" * (MAX_ECHOED_NAME + 50)
    data = {"title": "", long + "1": 1, long + "2": 2}
    data.update({f"extra{n}": n for n in range(MAX_UNKNOWN_FIELDS * 3)})
    errors = errors_of(PostIn, data)
    assert errors.pop("title") == "Title is required."  # the schema's own fields: all
    assert len(errors) == MAX_UNKNOWN_FIELDS  # the two long names cut to one, then extras
    assert errors.pop(long[: MAX_ECHOED_NAME - 1] + "…") == "Unknown field."
    assert all(name.startswith("extra") for name in errors)


def test_post_content_keeps_leading_spaces():
    assert PostIn.parse({"title": "t", "content": "    code\n"}).content == "    code\n"


def test_login_email_kept_for_a_case_insensitive_lookup():
    assert Login.parse({"email": " A@B.CD ", "password": "x"}).email == "A@B.CD"


@pytest.mark.parametrize("email", ["plain", "a@b", "a b@c.d", "@c.d", "a@.d"])
def test_bad_emails(email):
    errors = errors_of(Registration, {"name": "n", "email": email, "password": "12345678"})
    assert errors == {"email": "Enter a valid email address."}


def test_limits_come_from_the_model_columns():
    limit = Post._meta.field("title").max_length
    assert PostIn.parse({"title": "t" * limit}).title == "t" * limit
    assert errors_of(PostIn, {"title": "t" * (limit + 1)}) == {
        "title": f"Title must be at most {limit} characters."
    }


def test_form_attributes_follow_the_rules():
    limit = Post._meta.field("title").max_length
    assert form_attrs(PostIn)["title"] == f'maxlength="{limit}" required'
    assert "required" not in form_attrs(PostIn)["summary"]
    assert form_attrs(PasswordChange)["new_password"] == 'minlength="8" maxlength="128" required'


def every_input_schema():
    """The schemas of every resource that take input (they have a text field)."""
    for module in modules("schemas"):
        for value in vars(module).values():
            is_schema = isinstance(value, type) and issubclass(value, Schema)
            if is_schema and any(field.title for field in value.model_fields.values()):
                yield value


@pytest.mark.parametrize("schema", list(every_input_schema()), ids=lambda s: s.__name__)
@given(data=st.dictionaries(st.text(max_size=12), st.text(max_size=300) | st.none(), max_size=6))
def test_any_input_is_accepted_or_refused_with_a_message(schema, data):
    """Random keys and values never escape as anything but Invalid with a message per key."""
    try:
        schema.parse(data)
    except Invalid as exc:
        assert exc.errors and all(isinstance(m, str) and m for m in exc.errors.values())


def test_names_and_emails_are_normalised_before_the_length_checks():
    values = Registration.parse(
        {"name": " Zoe\u0308 ", "email": " ZOE\u0308@Example.COM ", "password": "12345678"}
    )
    assert (values.name, values.email) == ("Zoë", "zoë@example.com")  # NFC; lower-case
    assert Registration.parse({"name": "e\u0301" * 50, "email": "a@b.cd", "password": "p" * 8})
    email = "İ" * 130 + "@example.com"  # 142 typed, 272 lower-cased
    assert errors_of(Registration, {"name": "n", "email": email, "password": "12345678"}) == {
        "email": "Email must be at most 254 characters."
    }


@pytest.mark.parametrize("blank", ["\u200b", " \u200b\u200d ", "\ufeff", "\u2060\u3164"])
def test_required_text_that_shows_nothing_is_missing(blank):
    assert errors_of(PostIn, {"title": blank}) == {"title": "Title is required."}
    assert errors_of(CommentIn, {"content": blank}) == {"content": "Comment is required."}
    errors = errors_of(Registration, {"name": blank, "email": "a@b.cd", "password": "12345678"})
    assert errors == {"name": "Name is required."}
    assert PostIn.parse({"title": "t", "summary": blank}).summary == blank.strip()  # optional


# --- numbers, flags and dates (the fields www.scaffold generates) -----------------------


class Kinds(Schema):
    """One field of each kind that is not text, as www/scaffold/fields.py writes them."""

    rating: Annotated[int | None, BeforeValidator(blank_is_none)] = Field(
        None, title="Rating", ge=-5, le=5
    )
    score: float = Field(0.0, title="Score", allow_inf_nan=False)
    shown: bool = Field(False, title="Shown")
    due: Annotated[datetime | None, BeforeValidator(blank_is_none), AfterValidator(in_utc)] = Field(
        None, title="Due"
    )


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"rating": "many"}, {"rating": "Rating must be a whole number."}),
        ({"rating": 1.5}, {"rating": "Rating must be a whole number."}),
        ({"rating": "9"}, {"rating": "Rating must be at most 5."}),
        ({"score": "x"}, {"score": "Score must be a number."}),
        ({"score": [1]}, {"score": "Score must be a number."}),
        ({"score": "nan"}, {"score": "Score must be a finite number."}),
        ({"shown": "maybe"}, {"shown": "Shown must be true or false."}),
        ({"shown": [1]}, {"shown": "Shown must be true or false."}),
        ({"due": "soon"}, {"due": "Due must be a date and time."}),
        ({"due": [1]}, {"due": "Due must be a date and time."}),
        ({"due": "0001-01-01T00:00:00+14:00"}, {"due": "Due is out of range."}),
    ],
)
def test_messages_of_numbers_flags_and_dates(data, errors):
    assert errors_of(Kinds, data, form=True) == errors


def test_blank_numbers_and_dates_are_none_and_dates_are_utc():
    values = Kinds.parse({"rating": " ", "due": "", "shown": "on"}, form=True)
    assert (values.rating, values.due, values.shown) == (None, None, True)
    naive = Kinds.parse({"due": "2030-01-02T03:04"}, form=True).due
    assert naive == datetime(2030, 1, 2, 3, 4, tzinfo=UTC) and naive.tzinfo is UTC
    paris = Kinds.parse({"due": "2030-01-02T03:04:00+01:00"}).due
    assert paris == datetime(2030, 1, 2, 2, 4, tzinfo=UTC) and paris.tzinfo is UTC
