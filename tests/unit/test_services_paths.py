"""scripts/services.py: where a cluster lives when PostgreSQL's user cannot reach the checkout."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import services  # noqa: E402 - scripts/ is not a package


def test_not_root_keeps_the_cluster_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "_is_root", lambda: False)
    assert services.pg_home(tmp_path / ".var" / "test") == (tmp_path / ".var" / "test").resolve()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root (runuser)")
def test_as_root_a_private_checkout_gets_a_reachable_place_and_a_reachable_one_stays(monkeypatch):
    monkeypatch.setattr(services, "ROOT_PG_BASE", Path("/var/lib/koinonia-test-base"))
    # Not pytest's tmp_path: that lives under a 0700 directory, which is what is under test.
    base = Path(tempfile.mkdtemp(prefix="koinonia-pg-home-"))
    base.chmod(0o755)
    try:
        _check(base)
    finally:
        shutil.rmtree(base)


def _check(base: Path) -> None:
    private = base / "home"
    private.mkdir()
    private.chmod(0o700)  # like /root on Debian
    datadir = private / "checkout" / ".var" / "test"
    home = services.pg_home(datadir)
    assert home.parent == Path("/var/lib/koinonia-test-base")
    assert home == services.pg_home(datadir)  # the same place every time (stop finds it)
    assert services.pg_home(private / "other" / ".var" / "test") != home

    private.chmod(0o755)
    open_dir = private / "open" / ".var" / "test"
    assert services.pg_home(open_dir) == open_dir.resolve()
    # A cluster already inside the data directory stays where it is.
    (datadir / "pg").mkdir(parents=True)
    (datadir / "pg" / "PG_VERSION").write_text("16\n")
    private.chmod(0o700)
    assert services.pg_home(datadir) == datadir.resolve()


def test_further_programs_are_named_by_their_debian_package():
    found = services.missing_packages(
        need_postgres=False,
        need_redis=False,
        commands={"sh": "dash", "koinonia-no-such-program": "koinonia-no-such-package"},
    )
    assert found == ["koinonia-no-such-package"]
