"""Fixtures for settings tests: the delivery engine's simulator and broadcasts, reused."""

from tests.integration.delivery_engine.conftest import (  # noqa: F401
    no_quiet_hours,
    owner,
    send_to,
    sim,
    small_group,
)
