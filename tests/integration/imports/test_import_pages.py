"""The import pages: upload checks, preview and mapping, consent, progress polling, downloads."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from app.extensions import rds
from app.models import MemberImport
from tests.factories import UserFactory
from tests.integration.imports.conftest import csv_bytes, run_worker


def upload(client, data: bytes, filename: str = "members.csv"):
    return client.post(
        "/members/import", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def imports_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(MemberImport))


def test_leaders_cannot_import(client, login_as):
    login_as("leader")
    assert client.get("/members/import").status_code == 403
    assert upload(client, csv_bytes("A,B,3125558001,,,")).status_code == 403


def test_upload_page_lists_only_this_churchs_imports(client, login_as, make_import, other_church):
    make_import(csv_bytes("A,B,3125558002,,,"), "grace-list.csv")
    make_import(csv_bytes("A,B,3125558003,,,"), "hope-list.csv", other_church)
    login_as("owner")
    page = client.get("/members/import").get_data(as_text=True)
    assert "grace-list.csv" in page and "hope-list.csv" not in page


def test_empty_file_and_missing_phone_column_are_refused_before_any_work(db, client, church, login_as):
    UserFactory(church_id=church.id, role="admin", email="imports-admin@example.org")
    login_as("imports-admin@example.org")  # admins may import, like owners
    before = imports_count(db)
    response = upload(client, b"")
    assert response.status_code == 422
    assert "This file is empty" in response.get_data(as_text=True)
    response = upload(client, b"First name,Email\nRuth,ruth@example.org\n")
    assert response.status_code == 422
    assert "This file has no phone column" in response.get_data(as_text=True)
    assert imports_count(db) == before
    assert rds.queue("default").count == 0


def test_files_over_20_mb_get_the_413_page(client, login_as):
    login_as("owner")
    big = csv_bytes("A,B,3125558004,,,") + b"x" * (20 * 1024 * 1024)
    response = upload(client, big)
    assert response.status_code == 413
    assert "That file is too large" in response.get_data(as_text=True)


def test_other_routes_keep_the_app_wide_body_limit(app, client, login_as):
    login_as("owner")
    response = client.post("/members/import/999999", data={"x": "y" * (20 * 1024 * 1024 + 100 * 1024)})
    assert response.status_code == 404  # parsed under the app-wide limit, not the import's


def test_preview_shows_first_rows_and_guessed_mapping(db, client, login_as):
    login_as("owner")
    response = upload(client, "Prénom;Nom;Mobile;Groupes\nAndré;Müller;3125558005;Youth\n".encode("latin-1"))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "André" in page and "Müller" in page
    assert '<option selected value="2">Mobile</option>' in page
    assert "These people agreed to receive texts from us" in page
    assert "separated by semicolons" in page


def test_starting_needs_the_consent_attestation_and_a_phone_column(db, client, login_as, make_import):
    login_as("owner")
    imp = make_import(csv_bytes("A,B,3125558006,,,"))
    url = f"/members/import/{imp.id}"
    response = client.post(url, data={"phone": "2", "mode": "skip"})
    assert response.status_code == 422
    assert "Confirm that everyone in this file agreed to receive texts from you." in response.get_data(as_text=True)
    response = client.post(url, data={"phone": "", "mode": "skip", "consent": "y"})
    assert response.status_code == 422
    assert "Choose the column that holds phone numbers." in response.get_data(as_text=True)
    db.session.refresh(imp)
    assert imp.status == "draft"
    assert rds.queue("default").count == 0


def test_start_queues_the_job_and_the_partial_polls_until_done(db, client, login_as, make_import):
    login_as("owner")
    imp = make_import(csv_bytes("A,B,3125558007,,,", "C,D,bad,,,"))
    url = f"/members/import/{imp.id}"
    response = client.post(url, data={"phone": "2", "first_name": "0", "mode": "update", "consent": "y"})
    assert response.status_code == 303
    db.session.refresh(imp)
    assert (imp.status, imp.update_existing, imp.consent_attested) == ("queued", True, True)
    assert rds.queue("default").count == 1

    fragment = client.get(f"{url}/progress", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'hx-trigger="every 1s"' in fragment

    run_worker()
    db.session.expire_all()
    fragment = client.get(f"{url}/progress", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in fragment
    assert "Import finished" in fragment and "Download the 1 failed row" in fragment
    page = client.get(f"{url}/progress").get_data(as_text=True)
    assert "<html" in page and "Import finished" in page

    csv_response = client.get(f"{url}/failed.csv")
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    assert "3,C,D,bad,,,," in csv_response.get_data(as_text=True)


def test_failed_rows_file_neutralises_spreadsheet_formulas(db, client, login_as, run_import):
    """The failed rows repeat the uploaded cells; one starting with = + - @ must not run as a formula."""
    login_as("owner")
    imp = run_import(csv_bytes("=HYPERLINK(1),@SUM(1),+1 call,-2+3,,"))
    assert imp.status == "done"
    body = client.get(f"/members/import/{imp.id}/failed.csv").get_data(as_text=True)
    row = next(r for r in csv.reader(io.StringIO(body.lstrip("\ufeff"))) if r[0] == "2")
    assert row[1:5] == ["'=HYPERLINK(1)", "'@SUM(1)", "'+1 call", "'-2+3"]


def test_failed_rows_are_not_downloadable_before_the_import_ends(client, login_as, make_import):
    login_as("owner")
    imp = make_import(csv_bytes("A,B,3125558008,,,"))
    assert client.get(f"/members/import/{imp.id}/failed.csv").status_code == 404


def test_other_churches_imports_are_not_found(client, login_as, make_import, other_church):
    imp = make_import(csv_bytes("A,B,3125558009,,,"))
    login_as("hope")
    for path in ("", "/progress", "/failed.csv"):
        assert client.get(f"/members/import/{imp.id}{path}").status_code == 404
    assert client.post(f"/members/import/{imp.id}/retry").status_code == 404
