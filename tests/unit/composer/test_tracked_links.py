"""Tracked links, pure parts: which links a body's short links replace, the text a recipient gets,
and which fetches count as people."""

from __future__ import annotations

import pytest

from app.broadcasts.tracked_links import MAX_TRACKED, personalise, shortened, spans
from app.links.clicks import is_bot
from app.links.codes import CODE_LENGTH, well_formed

BASE = "https://app.koinonia.test"


def test_links_are_found_where_they_sit_with_their_targets():
    body = "Grace: sign up at https://grace.example.org/easter?a=1. Or visit grace.church/kids, or www.x.org!"
    found = spans(body)
    assert [body[s.start : s.end] for s in found] == [
        "https://grace.example.org/easter?a=1",
        "grace.church/kids",
        "www.x.org",
    ]
    assert [s.url for s in found] == [
        "https://grace.example.org/easter?a=1",
        "https://grace.church/kids",
        "https://www.x.org",
    ]


def test_a_link_in_a_merge_fallback_or_continued_by_a_field_is_left_alone():
    body = "Hi {first_name|x.org} see x.org and https://a.org/{first_name}"
    found = spans(body)
    assert [(s.start, s.text) for s in found] == [(body.index("see x.org") + 4, "x.org")]


def test_each_recipient_gets_their_own_short_links_and_missing_codes_keep_the_link():
    body = "A https://a.org/1 B https://b.org/2 C"
    places = [(s.start, s.end, i) for i, s in enumerate(spans(body))]
    assert personalise(body, places, {0: "AAAAaaaa", 1: "BBBBbbbb"}, BASE) == (
        f"A {BASE}/l/AAAAaaaa B {BASE}/l/BBBBbbbb C"
    )
    assert personalise(body, places, {1: "BBBBbbbb"}, BASE) == f"A https://a.org/1 B {BASE}/l/BBBBbbbb C"
    assert personalise(body, [], {}, BASE) == body


def test_counting_uses_the_short_link_length():
    long_link = "https://grace.example.org/" + "a" * 200
    counted = shortened(f"Grace: {long_link} !", BASE)
    assert counted == f"Grace: {BASE}/l/{'x' * CODE_LENGTH} !"


def test_at_most_so_many_links_are_tracked():
    body = " ".join(f"https://x.org/{i}" for i in range(MAX_TRACKED + 3))
    assert len(spans(body)) == MAX_TRACKED


@pytest.mark.parametrize(
    ("method", "agent", "purpose", "bot"),
    [
        (
            "GET",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
            None,
            False,
        ),
        (
            "GET",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36",
            None,
            False,
        ),
        ("HEAD", "Mozilla/5.0 (iPhone)", None, True),
        ("GET", "Mozilla/5.0 (Macintosh) AppleWebKit/601 facebookexternalhit/1.1 Facebot Twitterbot/1.0", None, True),
        ("GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", None, True),
        ("GET", "WhatsApp/2.23.20.0 A", None, True),
        ("GET", "TelegramBot (like TwitterBot)", None, True),
        ("GET", "", None, True),
        ("GET", None, None, True),
        ("GET", "Mozilla/5.0 (iPhone)", "prefetch", True),
    ],
)
def test_previews_bots_and_head_requests_are_counted_apart(method, agent, purpose, bot):
    assert is_bot(method, agent, purpose) is bot


def test_only_well_formed_codes_reach_the_database():
    assert well_formed("aZ09bY18")
    for code in ("short", "aZ09bY18x", "aZ09bY1-", "aZ09bY1é", "../../x1"):
        assert not well_formed(code)
