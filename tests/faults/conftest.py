"""The fault suite's stack: its own servers and processes, started once, torn down whatever happens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.stack import Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    s = Stack(workers=2, web_workers=2)
    try:
        s.up()
        yield s
    except BaseException:
        print(s.logs())
        raise
    finally:
        s.down()


@pytest.fixture
def healthy(stack: Stack, request) -> Iterator[Stack]:
    """The stack, with its logs printed when the test fails and the simulator cleared before and after."""
    stack.sim("POST", "reset")
    yield stack
    stack.sim("DELETE", "faults")
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(stack.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.rep_call = rep
