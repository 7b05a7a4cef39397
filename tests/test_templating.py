"""The template filters that pages call many times: same output, less work."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from www.templating import format_date


def by_strftime(value: datetime) -> str:
    """The `date` filter as it was first written: strftime, in the process's locale."""
    return f'<time datetime="{value.isoformat()}">{value.strftime("%d %b %Y")}</time>'


ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30))])


@given(st.datetimes(timezones=ZONES))
def test_the_date_filter_writes_what_strftime_wrote(value):
    assert format_date.__wrapped__(value) == by_strftime(value)
    assert format_date(value) == by_strftime(value)  # cached, the same


def test_the_date_filter_escapes_nothing_it_need_not():
    shown = format_date(datetime(2026, 5, 5, 14, 30, tzinfo=UTC))
    assert shown == '<time datetime="2026-05-05T14:30:00+00:00">05 May 2026</time>'
    assert shown.__html__() == shown  # Markup: Jinja inserts it as it is
