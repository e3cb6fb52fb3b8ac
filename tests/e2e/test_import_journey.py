"""Import journey: upload a 1,000-row CSV with 8 bad rows and 2 bad emails, watch it run, download the failed rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BAD_ROWS = {
    100: ("", "No phone number."),
    200: ("", "No phone number."),
    300: ("12345", "wrong number of digits"),
    400: ("555-01", "wrong number of digits"),
    500: ("(773) 123-4567", "is not a valid phone number"),
    600: ("dup:1", "Duplicate phone number: row 3 has the same number."),
    700: ("dup:2", "Duplicate phone number: row 4 has the same number."),
    950: ("not a phone", "is not a phone number"),
}
# A bad optional value does not cost the member: these rows import without an email, with a warning.
WARN_ROWS = {800, 900}


def member_csv(path: Path) -> Path:
    """1,000 members (Chicago numbers in several formats), 8 of them bad in different ways, 2 with a bad email."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["First Name", "Last Name", "Mobile", "Email", "Groups"])
    phones = []
    for i in range(1, 1001):
        phone = f"(773) 8{i // 100 % 10}{i // 10 % 10}-{4000 + i:04d}" if i % 2 else f"773-9{i % 100:02d}-{5000 + i}"
        email = f"person{i}@example.org"
        bad = BAD_ROWS.get(i)
        if i in WARN_ROWS:
            email = f"person{i}-at-example.org"
        elif bad and bad[0].startswith("dup:"):
            phone = phones[int(bad[0][4:])]
        elif bad:
            phone = bad[0]
        phones.append(phone)
        writer.writerow([f"Person{i}", "Importtest", phone, email, "Youth; Newcomers" if i % 10 == 0 else ""])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_import_a_csv_watch_progress_and_download_the_failed_rows(page, base_url, sign_in, tmp_path):
    sign_in()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base_url}/members/import")
    expect(page.get_by_role("heading", name="Import members")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(str(member_csv(tmp_path / "sunday-members.csv")))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    expect(page.locator("#import-preview")).to_contain_text("Person1")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("2")
    page.get_by_role("button", name="Import 1,000 rows").click()
    expect(page.locator("#consent-error")).to_contain_text("agreed to receive texts")
    page.get_by_label("These people agreed to receive texts from us").check()
    page.get_by_label("Update existing members by phone").check()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import-preview.png"), full_page=True)
    page.get_by_role("button", name="Import 1,000 rows").click()

    progress = page.locator("#import-progress")
    expect(progress).to_be_visible()
    expect(progress.get_by_role("heading", name="Import finished")).to_be_visible(timeout=30_000)
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(progress.locator("[data-count=read]")).to_have_text("1,000")
    expect(progress.locator("[data-count=imported]")).to_have_text("992")
    expect(progress.locator("[data-count=failed]")).to_have_text("8")
    expect(progress.locator("#import-failed-rows")).to_contain_text("No phone number.")
    expect(progress.locator("#import-warned-rows")).to_contain_text("imported without an email")
    assert progress.get_attribute("hx-trigger") is None  # polling has stopped
    page.screenshot(path=str(SCREENSHOTS / "import.png"), full_page=True)

    with page.expect_download() as info:
        progress.get_by_role("link", name="Download the 8 failed rows (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Row", "First Name", "Last Name", "Mobile", "Email", "Groups", "Reason"]
    assert [int(r[0]) for r in rows[1:]] == [n + 1 for n in BAD_ROWS]
    for row, (number, (_, reason)) in zip(rows[1:], BAD_ROWS.items(), strict=True):
        assert row[1] == f"Person{number}"
        assert reason in row[-1]
