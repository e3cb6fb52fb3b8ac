"""`flask create-api-key`: a key without the browser, for scripts and first set-up."""

from __future__ import annotations


def test_create_api_key_command_prints_a_working_key_once(app, client, db, church):
    result = app.test_cli_runner().invoke(
        args=["create-api-key", "--email", "admin@example.org", "--name", "Walkthrough", "--scopes", "read"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key.startswith("kn_live_")
    answer = client.get("/api/v1/members?limit=1", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.get_json()["data"]
    refused = app.test_cli_runner().invoke(
        args=["create-api-key", "--email", "leader@example.org", "--name", "Nope", "--scopes", "read"]
    )
    assert refused.exit_code != 0 and "not an active church owner" in refused.output
    bad = app.test_cli_runner().invoke(
        args=["create-api-key", "--email", "admin@example.org", "--name", "Bad", "--scopes", "everything"]
    )
    assert bad.exit_code != 0 and "scopes" in bad.output
