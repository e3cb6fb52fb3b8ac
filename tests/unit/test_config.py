import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, settings_from_env

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "SECRET_KEY": "a-long-enough-secret-key",
    "DATABASE_URL": "postgresql://u:p@localhost:5432/db",
    "REDIS_URL": "redis://localhost:6379/0",
}


def test_valid_environment_normalises_the_database_driver():
    settings = settings_from_env(BASE)
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@localhost:5432/db"
    assert settings["TELNYX_API_BASE"] == "https://api.telnyx.com/v2"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be a postgresql:// URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL must be a redis:// URL"),
        ({"SMS_PROVIDER": "twilio"}, "SMS_PROVIDER must be one of simulator, telnyx"),
        ({"SMS_PROVIDER": "telnyx"}, "TELNYX_API_KEY is required"),
        ({"TELNYX_PUBLIC_KEY": "not-base64!"}, "TELNYX_PUBLIC_KEY must be the base64"),
        ({"STRIPE_PRICE_IDS": "starter"}, "STRIPE_PRICE_IDS must be plan=price pairs"),
    ],
)
def test_bad_settings_name_the_variable(override, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_env({**BASE, **override})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL must be a postgresql:// URL"),
    ],
)
def test_start_up_stops_with_one_clear_line(env, expected):
    """The real entry point exits non-zero with one line naming the variable."""
    environ = {"PATH": "/usr/bin:/bin", **BASE, **env}
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"koinonia: configuration error: {expected}" + lines[0].split(expected, 1)[1]]
    assert "Traceback" not in proc.stderr
