"""Settings → Integrations: connecting, errors by field, lists to groups, Sync now, disconnect."""

from __future__ import annotations

from sqlalchemy import select

from app.integrations import sync
from app.integrations.credentials import open_credentials
from app.models import AuditLog, Group, PcoConnection, PcoList, PcoSync
from tests.integration.integrations.conftest import APP_ID, SECRET, connect

PAGE = "/settings/integrations"
CONNECT = "/settings/integrations/planning-center/connect"
LISTS = "/settings/integrations/planning-center/lists"
SYNC = "/settings/integrations/planning-center/sync"
DISCONNECT = "/settings/integrations/planning-center/disconnect"


def _connect_form(**fields):
    data = {"app_id": APP_ID, "secret": SECRET, "consent": "y"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_connecting_keeps_the_token_sealed_and_reads_the_lists(client, db, church, pco, login_as):
    pco.seed(9)
    login_as("owner")
    assert "Connect Planning Center" in client.get(PAGE).get_data(as_text=True)

    response = client.post(CONNECT, data=_connect_form())

    assert response.status_code == 303
    row = db.session.get(PcoConnection, church.id)
    assert SECRET not in row.credentials and APP_ID not in row.credentials
    assert open_credentials(row.credentials) == (APP_ID, SECRET)
    assert row.consent_attested and row.organization == "Grace Community Church"
    names = db.session.scalars(select(PcoList.name).where(PcoList.church_id == church.id)).all()
    assert sorted(names) == ["Volunteers", "Worship Team", "Youth"]
    page = client.get(PAGE).get_data(as_text=True)
    assert SECRET not in page and APP_ID not in page and f"…{APP_ID[-4:]}" in page
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "integration.connected")) is not None


def test_connect_errors_stand_by_their_fields_and_the_secret_is_not_sent_back(client, db, church, pco, login_as):
    login_as("admin")
    empty = client.post(CONNECT, data=_connect_form(app_id="", secret="", consent=None))
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert 'id="app_id-error"' in html and 'id="secret-error"' in html and 'id="consent-error"' in html

    pco.credentials = (APP_ID, "the-real-secret-1")
    refused = client.post(CONNECT, data=_connect_form(app_id=APP_ID, secret="wrong-secret-99"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "refused this application id and secret" in html and 'id="secret-error"' in html
    assert "wrong-secret-99" not in html and f'value="{APP_ID}"' in html  # what was typed stays, bar the secret
    assert db.session.get(PcoConnection, church.id) is None


def test_leaders_cannot_reach_the_page_or_its_actions(client, db, pco, login_as):
    login_as("leader")
    assert client.get(PAGE).status_code == 403
    assert client.post(CONNECT, data=_connect_form()).status_code == 403
    assert client.post(SYNC).status_code == 403


def test_forms_need_the_csrf_token(app, client, db, church, pco, login_as):
    login_as("owner")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(CONNECT, data=_connect_form()).status_code == 400
        assert client.post(SYNC).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(PcoConnection, church.id) is None


def test_lists_map_to_new_or_existing_groups_with_errors_by_list(client, db, church, pco, login_as):
    pco.seed(9)
    pco.set_list("4", "Prayer Chain", ["1001"])
    login_as("owner")
    client.post(CONNECT, data=_connect_form())
    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))

    clash = client.post(LISTS, data={"list-1": "new", "list-4": "new"})
    assert clash.status_code == 422
    html = clash.get_data(as_text=True)
    assert 'id="list-1-error"' in html and "A group named “Youth” exists already" in html
    assert 'id="list-4-error"' not in html

    saved = client.post(LISTS, data={"list-1": str(youth.id), "list-4": "new", "list-2": ""})
    assert saved.status_code == 303
    prayer = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Prayer Chain"))
    assert db.session.get(PcoList, (church.id, "4")).group_id == prayer.id
    assert db.session.get(PcoList, (church.id, "1")).group_id == youth.id
    assert db.session.get(PcoList, (church.id, "2")).group_id is None


def test_another_churchs_group_cannot_be_chosen(client, db, church, other_church, pco, login_as):
    pco.seed(3)
    theirs = Group(church_id=other_church.id, name="Hope only")
    db.session.add(theirs)
    db.session.commit()
    login_as("owner")
    client.post(CONNECT, data=_connect_form())
    response = client.post(LISTS, data={"list-1": str(theirs.id)})
    assert response.status_code == 422
    assert db.session.get(PcoList, (church.id, "1")).group_id is None


def test_sync_now_shows_a_progress_bar_that_polls_until_done(client, db, church, pco, login_as):
    pco.seed(20)
    login_as("owner")
    client.post(CONNECT, data=_connect_form())

    started = client.post(SYNC, headers={"HX-Request": "true"})
    fragment = started.get_data(as_text=True)
    assert started.status_code == 200 and "<html" not in fragment
    assert 'hx-trigger="every 1s"' in fragment and "Waiting to start" in fragment
    run = db.session.scalar(select(PcoSync).where(PcoSync.church_id == church.id))
    again = client.post(SYNC)  # one at a time: the running one is shown
    assert again.status_code == 303
    assert db.session.scalars(select(PcoSync).where(PcoSync.church_id == church.id)).all() == [run]

    sync.run(run.id)

    done = client.get(SYNC, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "every 1s" not in done and "Last sync finished" in done
    assert 'data-count="created">19<' in done and 'data-reason="no phone"' in done
    page = client.get(SYNC)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)


def test_disconnecting_forgets_the_token_but_keeps_members(client, db, church, pco, login_as):
    pco.seed(5)
    connect(church)
    login_as("owner")
    run = client.post(SYNC)
    assert run.status_code == 303
    sync.run(db.session.scalar(select(PcoSync.id).where(PcoSync.church_id == church.id)))

    assert client.post(DISCONNECT).status_code == 303

    assert db.session.get(PcoConnection, church.id) is None
    assert "Connect Planning Center" in client.get(PAGE).get_data(as_text=True)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "integration.disconnected")) is not None


def test_another_church_sees_only_its_own_integration(client, db, church, pco, login_as):
    pco.seed(5)
    connect(church)
    login_as("hope")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Connect Planning Center" in page and "…" + APP_ID[-4:] not in page
    client.post(SYNC)  # Hope is not connected: nothing starts
    assert db.session.scalars(select(PcoSync)).all() == []
