"""Names and emails that look alike are one name (www/text.py), through HTTP: registering
a twin is a 400 with the message, names no one can read are refused, and logging in finds
an address however it is written."""

import asyncio

import pytest

from tests.helpers import send
from www import DB
from www.accounts import actions
from www.accounts.models import User

PASSWORD = "long enough"


def account(name, email=None):
    return {"name": name, "email": email or f"{abs(hash(name))}@example.com", "password": PASSWORD}


async def register(auth, name, email=None):
    return await auth.post("/register", account(name, email))


@pytest.mark.parametrize(
    ("first", "twin"),
    [
        ("Émile", "émile"),
        ("admin", "\uff41\uff44\uff4d\uff49\uff4e"),  # fullwidth
        ("admin", "ADMIN"),
        ("Zoë", "Zoe\u0308"),  # NFC, then NFD
        ("Zoe\u0308", "ZOË"),
        ("Straße", "STRASSE"),
        ("Ann Lee", "Ann\u00a0 Lee"),
    ],
)
async def test_a_twin_name_is_taken(auth, app, first, twin):
    assert (await register(auth, first)).status == 303
    resp = await register(auth, twin)
    assert resp.status == 400
    assert "Name is already taken." in await resp.text()
    assert await User.select(app[DB]).count() == 1


async def test_the_name_is_shown_as_typed(auth, app, client):
    assert (await register(auth, "  Émile Zola ", "emile@example.com")).status == 303
    user = await User.select(app[DB]).first()
    assert (user.name, user.name_key) == ("Émile Zola", "émile zola")
    await auth.login("emile@example.com", PASSWORD)
    assert "Émile Zola" in await (await client.get("/")).text()


NOT_READABLE = "Name must not contain control, formatting or invisible characters."


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\u200b", "Name is required."),  # one zero-width space
        ("\u200b\u200d \ufeff", "Name is required."),
        ("\u3164", "Name is required."),  # a Hangul filler, drawn as nothing
        ("ad\u200bmin", NOT_READABLE),
        ("\u202eadmin", NOT_READABLE),  # right-to-left override
        ("admin\u2066", NOT_READABLE),  # a bidi isolate
        ("ad\x07min", NOT_READABLE),
        ("ad\nmin", NOT_READABLE),
        ("ad\x7fmin", NOT_READABLE),
        ("\ue000admin", NOT_READABLE),  # private use
        ("\u0430dmin", "Name must not mix Latin, Cyrillic and Greek letters."),  # a Cyrillic a
        ("\u03bfmega", "Name must not mix Latin, Cyrillic and Greek letters."),  # a Greek o
    ],
)
async def test_unreadable_names_are_refused(auth, app, name, message):
    resp = await register(auth, name)
    assert resp.status == 400
    assert message in await resp.text()
    assert await User.select(app[DB]).count() == 0


@pytest.mark.parametrize("name", ["Владимир", "Ωμέγα", "李小龍", "Émile ❤️", "O'Brien-Smith 2"])
async def test_names_in_one_script_are_welcome(auth, app, name):
    assert (await register(auth, name)).status == 303
    assert (await User.select(app[DB]).first()).name == name


async def test_the_name_limit_holds_after_normalisation(auth, app):
    assert (await register(auth, "e\u0301" * 50)).status == 303  # 100 typed, 50 in NFC
    resp = await register(auth, "e\u0301" * 51)
    assert "Name must be at most 50 characters." in await resp.text()


@pytest.mark.parametrize(
    "twin",
    [
        "EMILE@example.com",
        "emile@EXAMPLE.COM",
        "\uff45\uff4d\uff49\uff4c\uff45@example.com",  # fullwidth
        "emi\u200ble@example.com",
    ],
)
async def test_a_twin_email_is_registered(auth, app, twin):
    assert (await register(auth, "Emile", "emile@example.com")).status == 303
    resp = await register(auth, "Other", twin)
    assert resp.status == 400
    body = await resp.text()
    assert "Email is already registered." in body or "Enter a valid email address." in body
    assert await User.select(app[DB]).count() == 1


async def test_an_idn_domain_is_one_domain_in_either_form(auth, app):
    assert (await register(auth, "Hans", "hans@Bücher.de")).status == 303
    resp = await register(auth, "Other", "HANS@xn--bcher-kva.de")
    assert "Email is already registered." in await resp.text()
    assert (await auth.login("Hans@XN--BCHER-KVA.DE", PASSWORD)).status == 303


async def test_login_finds_the_address_however_it_is_written(auth, client):
    assert (await register(auth, "Émile", "Émile@Example.com")).status == 303
    assert (await auth.login("émile@example.com", PASSWORD)).status == 303
    await auth.logout()
    assert (await auth.login("ÉMILE@EXAMPLE.COM", PASSWORD)).status == 303
    await auth.logout()
    resp = await send(
        client, "POST", "/api/session", {"email": "E\u0301mile@example.com", "password": PASSWORD}
    )
    assert resp.status == 200
    assert (await resp.json())["user"]["name"] == "Émile"


@pytest.mark.parametrize("email", ["émile@exa..mple.com", "a@" + "x" * 64 + ".com", "a@b.c\u200b"])
async def test_an_invalid_domain_is_a_400_not_a_500(auth, client, email):
    resp = await register(auth, "Emile", email)
    assert resp.status == 400
    assert "Enter a valid email address." in await resp.text()
    assert (await auth.login(email, PASSWORD)).status == 400
    resp = await send(client, "POST", "/api/session", {"email": email, "password": PASSWORD})
    assert resp.status == 401


async def test_an_email_that_grows_past_254_when_lower_cased_is_a_400(auth, app, client):
    """'İ' lower-cases to two characters: 142 typed, 272 once normalised."""
    email = "İ" * 130 + "@example.com"
    resp = await register(auth, "Dotted", email)
    assert resp.status == 400
    assert "Email must be at most 254 characters." in await resp.text()
    assert await User.select(app[DB]).count() == 0
    assert (await auth.login(email, PASSWORD)).status == 400
    resp = await send(client, "POST", "/api/session", {"email": email, "password": PASSWORD})
    assert resp.status == 401


async def test_a_twin_registered_meanwhile_is_still_a_400(auth, app, monkeypatch):
    """The check passes, then a concurrent request inserts the twin: the unique index on
    the key refuses the second, and the IntegrityError becomes the form's message."""
    await User.create(app[DB], name="Émile", email="one@example.com", password_hash="x")
    checked = []

    async def not_yet_taken(db, values):
        checked.append(values.name)
        return {} if len(checked) == 1 else await taken(db, values)

    taken = actions._taken
    monkeypatch.setattr(actions, "_taken", not_yet_taken)
    resp = await register(auth, "ÉMILE")
    assert resp.status == 400
    assert "Name is already taken." in await resp.text()
    assert checked == ["ÉMILE", "ÉMILE"]


async def test_concurrent_twins_one_303_and_one_400(auth, app, aiohttp_client, client):
    other = type(auth)(await aiohttp_client(client.server), app)
    statuses = await asyncio.gather(
        register(auth, "Émile", "emile@example.com"),
        register(other, "e\u0301mile", "EMILE@example.com"),
    )
    assert sorted(resp.status for resp in statuses) == [303, 400]
    assert await User.select(app[DB]).count() == 1
