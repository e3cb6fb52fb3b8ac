import pytest
from sqlalchemy import text


@pytest.fixture(autouse=True)
def no_stats_history(db):
    """Start from empty daily_stats: the demo seed writes 90 days of history for the charts."""
    db.session.execute(text("DELETE FROM daily_stats"))
