"""Import problems in plain sight: failed rows on the result page, warnings, a checked preview."""

from sqlalchemy import select

from app.models import Member
from tests.integration.imports.conftest import csv_bytes


def test_a_bad_email_imports_the_row_without_it_and_warns(client, login_as, run_import, db, church):
    login_as("owner")
    imp = run_import(csv_bytes("Chloe,Baker,(312) 555-7001,chloe@,,", "Dan,Cole,,dan@example.org,,"))
    assert imp.imported == 1 and imp.failed == 1
    chloe = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == "+13125557001"))
    assert chloe is not None and chloe.first_name == "Chloe" and chloe.email is None
    html = client.get(f"/members/import/{imp.id}").get_data(as_text=True)
    warned = html[html.index('id="import-warned-rows"') :]
    assert "“chloe@” is not an email address; imported without an email." in warned
    failed = html[html.index('id="import-failed-rows"') : html.index('id="import-warned-rows"')]
    assert "No phone number." in failed and "Dan" in failed
    # The download still lists only the row that was not imported.
    body = client.get(f"/members/import/{imp.id}/failed.csv").get_data(as_text=True)
    assert "Dan" in body and "Chloe" not in body


def test_an_unknown_branch_is_a_warning_not_a_failure(run_import, db, church):
    imp = run_import(csv_bytes("Eve,Fox,(312) 555-7002,,,Uptown"))
    assert imp.imported == 1 and imp.failed == 0
    assert any(f.get("warning") and "Uptown" in f["reason"] for f in imp.failures)


def test_the_preview_flags_rows_that_will_fail_before_the_import(client, login_as, make_import, db):
    login_as("owner")
    imp = make_import(csv_bytes("Gail,Hart,(312) 555-7003,,,", "Hal,Ives,12345,,,", "Ida,Jones,(312) 555-7004,ida@,,"))
    db.session.commit()
    html = client.get(f"/members/import/{imp.id}").get_data(as_text=True)
    table = html[html.index('id="import-preview"') : html.index("</table>", html.index('id="import-preview"'))]
    hal = table[table.index("Hal") : table.index("</tr>", table.index("Hal"))]
    assert "Will fail" in hal and "wrong number of digits" in hal
    ida = table[table.index("Ida") : table.index("</tr>", table.index("Ida"))]
    assert "Warning" in ida and "imported without an email" in ida
    check = html[html.index('id="import-check"') :]
    assert "1 row will not be imported" in check
