"""Pure helpers of the inbox: keyword normalising, time formatting, filters, merge fields, audiences."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from app import merge
from app.inbox.inbound import audience_group_ids, preview_of
from app.inbox.queries import ListFilter, cursor_of
from app.inbox.templating import Clock
from app.keywords.services import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" stop ", "STOP"), ("Stop  All", "STOP ALL"), ("\tunsubscribe\n", "UNSUBSCRIBE"), ("", ""), (None, "")],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_keyword_sets_are_the_documented_ones():
    assert OPT_OUT_WORDS == {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
    assert OPT_IN_WORDS == {"START", "UNSTOP"} and HELP_WORDS == {"HELP", "INFO"}


def test_clock_formats_relative_to_the_church_day():
    now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # Friday, noon in Chicago
    clock = Clock("America/Chicago", now)
    assert clock.short(datetime(2026, 11, 20, 15, 41, tzinfo=UTC)) == "9:41 AM"
    assert clock.short(datetime(2026, 11, 17, 15, 0, tzinfo=UTC)) == "Tue"
    assert clock.short(datetime(2026, 10, 3, 15, 0, tzinfo=UTC)) == "Oct 3"
    assert clock.short(datetime(2025, 10, 3, 15, 0, tzinfo=UTC)) == "Oct 3, 2025"
    # 2 a.m. UTC on the 20th is still the 19th in Chicago: yesterday, not today.
    assert clock.short(datetime(2026, 11, 20, 2, 0, tzinfo=UTC)) == "Thu"
    assert clock.short(None) == ""


def test_list_filter_parses_and_rejects_unknown_values():
    flt = ListFilter.from_args({"status": "closed", "who": "mine", "unread": "1", "q": "  ada  "})
    assert (flt.status, flt.who, flt.unread, flt.q) == ("closed", "mine", True, "ada")
    odd = ListFilter.from_args({"status": "deleted", "who": "everyone", "before": "garbage"})
    assert (odd.status, odd.who, odd.before_at) == ("open", "all", None)
    assert ListFilter().params() == {}
    assert flt.params() == {"status": "closed", "who": "mine", "unread": "1", "q": "ada"}


def test_cursor_round_trip():
    at = datetime(2026, 11, 20, 18, 0, 5, 123456, tzinfo=UTC)
    raw = cursor_of(SimpleNamespace(last_message_at=at, id=42))
    flt = ListFilter.from_args({"before": raw})
    assert (flt.before_at, flt.before_id) == (at, 42)


def test_merge_fields_with_fallbacks():
    member = SimpleNamespace(first_name="Tola", last_name="")
    church = SimpleNamespace(name="Grace")
    assert merge.render("Hi {first_name}!", member, church) == "Hi Tola!"
    assert merge.render("Dear {last_name|friend}", member, church) == "Dear friend"
    assert merge.render("Keep {unknown} at {church_name}", member, church) == "Keep {unknown} at Grace"


def test_preview_of_media_only_and_long_text():
    assert preview_of("", [{"url": "u", "content_type": "image/png"}]) == "📷 Photo"
    assert preview_of("", [{"url": "u", "content_type": "audio/mp4"}]) == "📎 Attachment"
    assert preview_of("a\n b  c", []) == "a b c"
    assert len(preview_of("x" * 500, [])) == 160


def test_audience_group_ids_accepts_the_stored_shapes():
    assert audience_group_ids({"everyone": True, "group_ids": [3, "4", "x"]}) == [3, 4]
    assert audience_group_ids({"groups": [{"id": 5}]}) == [5]
    assert audience_group_ids({}) == []
