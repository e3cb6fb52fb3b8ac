import pytest
from sqlalchemy import text

# The delivery engine's simulator fixtures, so the stats tests send through the same wiring.
from tests.integration.delivery_engine.conftest import no_quiet_hours, sim  # noqa: F401


@pytest.fixture(autouse=True)
def no_stats_history(db):
    """Start from empty daily_stats: the demo seed writes 90 days of history for the charts."""
    db.session.execute(text("DELETE FROM daily_stats"))
