"""Reading the CSV files people actually export: encodings, delimiters, odd rows, bad values."""

from __future__ import annotations

import random

import pytest

from app.people.fastphone import _prefix_decides_validity, _prefix_valid, free_tail, phone_e164
from app.people.imports.parsing import (
    ImportFileError,
    decode,
    detect_delimiter,
    guess_mapping,
    normalise,
    records,
    sniff,
    split_groups,
)
from app.people.phones import try_normalize

HEADER = "First name,Last name,Phone,Email,Groups,Branch\n"


def parse(data: bytes, branches: dict[str, int] | None = None):
    sniffed = sniff(data)
    text, _ = decode(data)
    return sniffed, normalise(text, sniffed.delimiter, sniffed.mapping, branches=branches)


def test_utf8_with_bom_keeps_the_first_header_clean():
    data = ("\ufeff" + HEADER + "Zoë,Brontë,(312) 555-0142,zoe@example.org,,\n").encode()
    sniffed, result = parse(data)
    assert sniffed.encoding == "utf-8-sig"
    assert sniffed.headers[0] == "First name"
    assert sniffed.mapping["first_name"] == 0
    assert result.rows[0][1:4] == ("Zoë", "Brontë", "+13125550142")


def test_latin1_and_windows_1252_files_decode_to_the_right_letters():
    latin1 = ("Prénom;Nom;Téléphone\nAndré;Müller;(312) 555-0142\nJosé;Peña;312-555-0143\n").encode("latin-1")
    sniffed, result = parse(latin1)
    assert sniffed.delimiter == ";"
    assert [r[1:3] for r in result.rows] == [("André", "Müller"), ("José", "Peña")]
    cp1252 = (HEADER + "“Renée”,Façade,3125550144,,,\n").encode("cp1252")
    text, encoding = decode(cp1252)
    assert encoding == "cp1252"
    assert "“Renée”,Façade" in text


def test_semicolon_files_with_comma_lists_of_groups():
    data = b"Name;Surname;Mobile;Groups\nRuth;Mensah;3125550142;Youth, Choir\n"
    sniffed, result = parse(data)
    assert sniffed.delimiter == ";"
    assert sniffed.mapping == {"first_name": 0, "last_name": 1, "phone": 2, "groups": 3}
    assert result.rows[0][5] == ["Youth", "Choir"]


def test_quoted_newlines_stay_in_one_row_and_row_numbers_follow_the_spreadsheet():
    data = (HEADER + '"Mary\nAnn",Lee,3125550142,,,\nbad,row,123,,,\n').encode()
    _, result = parse(data)
    assert result.rows[0][1] == "Mary\nAnn"
    assert result.failures[0]["row"] == 3


def test_blank_lines_are_skipped_but_counted_as_spreadsheet_rows():
    data = (HEADER + "\nRuth,Mensah,3125550142,,,\n\n ,,,,,\nEli,Osei,3125550143,,,\n").encode()
    sniffed, result = parse(data)
    assert sniffed.total_rows == 2
    assert result.read == 2
    assert [r[0] for r in result.rows] == [3, 6]


def test_duplicate_phones_first_row_wins_later_ones_fail_with_the_reason():
    data = (HEADER + "Ruth,Mensah,(312) 555-0142,,,\nRuthie,M,+1 312 555 0142,,,\nEli,Osei,3125550143,,,\n").encode()
    _, result = parse(data)
    assert [r[1] for r in result.rows] == ["Ruth", "Eli"]
    assert result.failures == [
        {
            "row": 3,
            "values": ["Ruthie", "M", "+1 312 555 0142", "", "", ""],
            "reason": "Duplicate phone number: row 2 has the same number.",
        }
    ]


def test_bad_values_each_get_a_reason_and_bad_optional_values_only_a_warning():
    data = (
        HEADER
        + "A,One,,,,\n"
        + "B,Two,12345,,,\n"
        + "C,Three,3125550199,not-an-email,,\n"
        + "D,Four,3125550198,,,Uptown\n"
        + "E,Five,3125550197,e@example.org,,downtown\n"
    ).encode()
    _, result = parse(data, branches={"downtown": 7})
    reasons = [f["reason"] for f in result.failures]
    assert reasons[0] == "No phone number."
    assert "wrong number of digits" in reasons[1]
    assert len(reasons) == 2
    warnings = [w["reason"] for w in result.warnings]
    assert warnings[0] == "“not-an-email” is not an email address; imported without an email."
    assert warnings[1].startswith("No branch named “Uptown”; imported without a branch.")
    assert result.rows == [
        (4, "C", "Three", "+13125550199", None, [], None, None),
        (5, "D", "Four", "+13125550198", None, [], None, None),
        (6, "E", "Five", "+13125550197", "e@example.org", [], 7, None),
    ]


def test_empty_file_is_refused_before_any_work():
    for data in (b"", b"\xef\xbb\xbf", b"\n\n  \n"):
        with pytest.raises(ImportFileError, match="empty"):
            sniff(data)
    with pytest.raises(ImportFileError, match="no members"):
        sniff(HEADER.encode())


def test_file_without_a_phone_column_is_refused_before_any_work():
    with pytest.raises(ImportFileError, match="no phone column"):
        sniff(b"First name,Last name,Email\nRuth,Mensah,ruth@example.org\n")


def test_phone_column_found_by_its_values_when_the_header_is_unusual():
    sniffed = sniff(b"Who,Contact\nRuth,(312) 555-0142\nEli,312.555.0143\n")
    assert sniffed.mapping["phone"] == 1


def test_header_guesses():
    headers = ["Given Name", "Family name", "Cell Phone", "E-mail Address", "Ministries", "Campus"]
    assert guess_mapping(headers, []) == {
        "first_name": 0,
        "last_name": 1,
        "phone": 2,
        "email": 3,
        "groups": 4,
        "branch": 5,
    }


def test_delimiter_detection_ignores_commas_inside_quotes():
    assert detect_delimiter('"Last, First";Phone;Email\n') == ";"
    assert detect_delimiter("a\tb\tc\n") == "\t"
    assert detect_delimiter("phone\n") == ","


def test_records_yields_row_numbers():
    assert list(records("a,b\n\n1,2\n", ",")) == [(1, ["a", "b"]), (3, ["1", "2"])]


def test_split_groups():
    assert split_groups(" Youth ; youth | Worship  Team,Choir ") == ["Youth", "Worship Team", "Choir"]
    assert split_groups("") == []


def test_fast_phone_path_agrees_with_phonenumbers():
    rng = random.Random(7)
    formats = [
        "({a}) {b}-{c}",
        "{a}-{b}-{c}",
        "{a}.{b}.{c}",
        "+1 {a} {b} {c}",
        "1{a}{b}{c}",
        "{a}{b}{c}",
        "+1{a}{b}{c}",
    ]
    for _ in range(3000):
        a = f"{rng.randint(100, 999)}"
        b = f"{rng.randint(100, 999)}"
        c = f"{rng.randint(0, 9999):04d}"
        raw = rng.choice(formats).format(a=a, b=b, c=c)
        assert phone_e164(raw, "US") == try_normalize(raw, "US"), raw
    odd = ["+44 20 7946 0958", "0044 20 7946 0958", "312-555-0142 x12", "1-800-FLOWERS", "12345"]
    # Spreadsheet spaces, and digits of another script (written back as ASCII).
    odd += ["312\u00a0555\u00a00142", " (312)555-0142\n", "312 555 \u0660\u0661\u0664\u0662", "+1 ((312 555 0142"]
    for raw in odd:
        assert phone_e164(raw, "US") == try_normalize(raw, "US"), raw
    assert phone_e164("020 7946 0958", "GB") == "+442079460958"


def test_the_prefix_cache_is_only_trusted_where_patterns_leave_the_last_four_digits_free():
    assert free_tail(r"[2-9]\d{9}|3\d{6}") == 6
    assert free_tail(r"(?:2742|305[3-9])\d{6}|52[34][2-9]1[02-9]\d{4}") == 4
    assert free_tail(r"(?:3052(?:0[0-8]|[1-9]\d))\d{4}") == 4
    # Fewer free digits, or constructs it does not read: the count errs low.
    assert free_tail(r"[2-9]\d{5}(?:1\d{3}|2\d{2})") == 2
    assert free_tail(r"\d{6}(?=\d)\d{4}") == 0 and free_tail(r"\d{6}\d{3,4}") == 0 and free_tail("(\\d") == 0


def test_fast_phone_path_agrees_across_area_codes_and_caribbean_prefixes():
    assert _prefix_decides_validity()  # the installed metadata allows the NPA-NXX cache
    _prefix_valid.clear()
    rng = random.Random(11)
    # Barbados and Jamaica have patterns deeper than NPA-NXX: those must never be cached.
    samples = [f"246521{n:04d}" for n in range(0, 10000, 7)] + [f"876606{n:04d}" for n in range(0, 10000, 7)]
    samples += [f"{rng.randint(200, 999)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}" for _ in range(4000)]
    for national in samples * 2:  # the second pass answers from the cache
        assert phone_e164(national, "US") == try_normalize(national, "US"), national
