"""The one CSV writer: what a spreadsheet would run is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from app.security import csvfiles


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+1 call me", "'+1 call me"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+13125550142", "+13125550142"),
        ("+1312555014299999", "'+1312555014299999"),
        ("Grace", "Grace"),
        (None, ""),
        (3, "3"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_written_as_text(value, written):
    assert csvfiles.cell(value) == written
    rows = list(csv.reader(io.StringIO(csvfiles.text([["h"], [value]]), newline="")))
    assert rows[1] == [written]


def test_chunks_stream_the_same_file_as_text():
    rows = [[f"=r{i}", i] for i in range(5)]
    assert "".join(csvfiles.chunks(rows, every=2)) == csvfiles.text(rows)
