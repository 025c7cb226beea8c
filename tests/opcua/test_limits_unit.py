"""Login backoff curve and rate-limited logging (pure, fake clocks)."""

from __future__ import annotations

import logging

import pytest

from plc_emulator.opcua.limits import LoginGuard, RateLimitedLog


def test_login_guard_backoff_curve() -> None:
    now = [0.0]
    g = LoginGuard(clock=lambda: now[0])
    delays = []
    for _ in range(8):
        delays.append(g.delay("u", "a"))
        g.failed("u", "a")
    assert delays == [0, 0, 0, 0.5, 1, 2, 4, 8]
    g.succeeded("u")
    assert g.delay("u", "b") == 0.0  # the user is clear, another address
    assert g.delay("v", "a") == 16.0  # the address still backs off
    now[0] += 601
    assert g.delay("v", "a") == 0.0


def test_rate_limited_log(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    rl = RateLimitedLog(logging.getLogger("t"), interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="t"):
        for _ in range(20_000):
            rl(logging.WARNING, "k", "bad item")
        now[0] = 11
        rl(logging.WARNING, "k", "bad item")
    assert [r.getMessage() for r in caplog.records] == ["bad item", "k suppressed=19999 in the last 11 s",
                                                        "bad item"]
