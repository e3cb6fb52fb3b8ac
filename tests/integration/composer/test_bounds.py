"""Input bounds in the composer: nothing is summarised from an over-long body or an out-of-range number."""

from __future__ import annotations

import pytest

from app.broadcasts import pages
from app.broadcasts.forms import MAX_BODY

MAX_PEOPLE = 1000  # the chips one composer may add

HX = {"HX-Request": "true"}
# Long, and shaped like the input that made the old link pattern backtrack.
LONG_BODY = "Grace: " + "a." * 5000


@pytest.fixture
def summarised(monkeypatch):
    """The lengths of the bodies the composer summarised during the request."""
    lengths: list[int] = []
    real = pages.summarise

    def spy(church, body, *args, **kwargs):
        lengths.append(len(body))
        return real(church, body, *args, **kwargs)

    monkeypatch.setattr(pages, "summarise", spy)
    return lengths


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/broadcasts/new/counter", HX, 200),
        ("/broadcasts/new/audience", HX, 200),
        ("/broadcasts/new/smart-quotes", HX, 422),
        ("/broadcasts/new", {}, 422),
        ("/broadcasts/confirm", {}, 422),
        ("/broadcasts", {}, 422),
    ],
)
def test_composer_never_summarises_an_over_long_body(client, login_as, compose, summarised, path, headers, status):
    login_as("owner")
    r = client.post(path, data=compose(body=LONG_BODY), headers=headers)
    assert r.status_code == status
    assert summarised and max(summarised) <= MAX_BODY


@pytest.mark.parametrize("path", ["/broadcasts/new", "/broadcasts/confirm", "/broadcasts/new/smart-quotes"])
def test_an_over_long_body_shows_the_error_by_the_field_and_keeps_the_text(client, login_as, compose, path):
    login_as("owner")
    r = client.post(path, data=compose(body=LONG_BODY + " \u201cquoted\u201d"), headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="body-error"' in html and "At most 1,600 characters." in html
    assert "a." * 5000 + " \u201cquoted\u201d" in html  # kept as typed, smart quotes not replaced


def test_counter_says_the_body_is_over_the_limit(client, login_as, compose):
    login_as("owner")
    html = client.post("/broadcasts/new/counter", data=compose(body=LONG_BODY), headers=HX).get_data(as_text=True)
    assert 'id="over-limit"' in html
    ok = client.post("/broadcasts/new/counter", data=compose(), headers=HX).get_data(as_text=True)
    assert 'id="over-limit"' not in ok


def _repeat(compose, **overrides):
    return compose(when="repeat", repeat_freq="monthly", send_time="09:00", until="2099-12-31", **overrides)


@pytest.mark.parametrize("month_day", ["0", "32", "100000"])
def test_month_day_is_range_checked_before_a_rule_is_built(client, login_as, compose, month_day):
    login_as("owner")
    counter = client.post("/broadcasts/new/counter", data=_repeat(compose, month_day=month_day), headers=HX)
    assert counter.status_code == 200
    for path in ("/broadcasts/new", "/broadcasts/confirm", "/broadcasts"):
        r = client.post(path, data=_repeat(compose, month_day=month_day))
        assert r.status_code == 422 and "A day from 1 to 31." in r.get_data(as_text=True)


def test_a_good_repeating_draft_still_confirms(client, login_as, compose):
    login_as("owner")
    r = client.post("/broadcasts/confirm", data=_repeat(compose, month_day="15"))
    assert r.status_code == 200 and "15" in r.get_data(as_text=True)


def test_too_many_people_are_refused_and_huge_ids_do_not_crash(client, login_as, compose):
    login_as("owner")
    ids = [str(n) for n in range(1, MAX_PEOPLE + 50)] + ["9" * 5000]
    r = client.post("/broadcasts/new", data=compose(member_ids=ids))
    assert r.status_code == 422 and f"At most {MAX_PEOPLE:,} people" in r.get_data(as_text=True)
    r = client.post("/broadcasts/new/counter", data=compose(member_ids=["9" * 5000]), headers=HX)
    assert r.status_code == 200
