"""Parsing of list filters, page tokens and what a typed search means."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql

from app.people.keyset import decode_cursor, encode_cursor
from app.people.queries import MemberFilters, search_condition


def test_filters_are_read_leniently():
    f = MemberFilters.from_args({"q": "  ruth ", "group": "7", "branch": "x", "status": "bogus", "sort": "newest"})
    assert (f.q, f.group_id, f.branch_id, f.status, f.sort) == ("ruth", 7, None, "", "newest")
    assert MemberFilters.from_args({"group": "-3", "sort": "drop table"}) == MemberFilters()
    assert f.as_args() == {"q": "ruth", "group": 7, "sort": "newest"}
    assert f.as_args(q="") == {"group": 7, "sort": "newest"}
    assert not MemberFilters(sort="-name").active and MemberFilters(status="opted_out").active


def test_cursor_round_trip_and_tampering():
    key = (False, "okafor", "grace", 12)
    assert decode_cursor(encode_cursor(key), "name") == key
    assert decode_cursor(encode_cursor((True, "", "", 13)), "name") == (True, "", "", 13)
    # A token from before unnamed members sorted last: the first page, not an error.
    assert decode_cursor(encode_cursor(("okafor", "grace", 12)), "name") is None
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert decode_cursor(encode_cursor((when, 9)), "newest") == (when, 9)
    for bad in (
        "",
        "%%%",
        encode_cursor((1, 2, 3)),
        encode_cursor(("x", "a", "b", 1)),
        encode_cursor(("a",)),
        "eyJ4Ijo",
    ):
        assert decode_cursor(bad, "name") is None


def _sql(q: str) -> str:
    cond = search_condition(q, "US")
    dialect = postgresql.dialect()
    sql = "" if cond is None else str(cond.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return sql.replace("%%", "%")


def test_phone_searches():
    assert "members.phone_e164 = '+13125550142'" in _sql("(312) 555-0142")
    assert "members.phone_e164 = '+13125550142'" in _sql("+1 312 555 0142")
    assert "LIKE '%0142%'" in _sql("0142")
    assert "LIKE '%1312%'" in _sql("+1 312")


def test_word_searches():
    sql = _sql("Grace O'Kafor")
    assert "ILIKE '%grace%'" in sql and "o''kafor" in sql
    assert "ILIKE 'jo%'" in _sql("jo")  # two letters: the start of a name
    assert "\\%" in _sql("50%")  # LIKE wildcards typed by people are literal
    assert _sql("   ") == ""


def test_phone_searches_are_recognised():
    from app.people.queries import is_phone_search

    assert is_phone_search("0142") and is_phone_search("(312) 555-0142") and is_phone_search("+1 312")
    assert not is_phone_search("42") and not is_phone_search("grace 0142") and not is_phone_search("")


def test_narrow_searches_skip_the_window():
    from app.people.queries import is_narrow_search

    assert is_narrow_search("0142") and is_narrow_search("grace okaf") and is_narrow_search("okafor12")
    assert not is_narrow_search("ma") and not is_narrow_search("okafor") and not is_narrow_search("example.net")
    assert not is_narrow_search("")
