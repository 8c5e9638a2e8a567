# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""progress: the live display's block and scrollback, and the plain lines, driven with a fake clock."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from rich.console import Console

from ripreplace import progress, windows
from ripreplace.campaign import HostProgress, HostState

T0 = dt.datetime(2026, 5, 1, 13, 2, 5, tzinfo=dt.UTC)
WINDOW = windows.OpenWindow(name="night", opens=T0, closes=T0 + dt.timedelta(hours=2))
SGR = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def start(host: str, task: str) -> dict[str, object]:
    return {"event": "runner_on_start", "event_data": {"host": host, "task": task}}


def render(display: progress.LiveProgress, width: int = 80, height: int = 24) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(
        progress.render_block(display.snapshot(), width=width, height=height)
    )
    return buf.getvalue()


@pytest.fixture
def live():
    buf = io.StringIO()
    console = Console(file=buf, width=80, height=24, force_terminal=True, color_system=None)
    clock = Clock()
    display = progress.LiveProgress(4, console=console, clock=clock, refresh_per_second=50)
    display.buf, display.fake = buf, clock  # type: ignore[attr-defined]
    yield display
    display.close()


def test_formats():
    assert progress.stamp(T0) == "13:02:05Z"
    assert progress.countdown(dt.timedelta(hours=1, minutes=59, seconds=58)) == "1:59:58"
    assert progress.countdown(dt.timedelta(days=2, hours=3, seconds=5)) == "2d 03:00:05"
    assert progress.countdown(dt.timedelta(seconds=-5)) == "0:00:00"
    assert progress.elapsed(42) == "0:42" and progress.elapsed(3723) == "1:02:03"


def test_block_says_batch_hosts_in_flight_counts_clock_and_time_left(live):
    live.batch_start(1, 3, ["h1", "h2"], WINDOW)
    live.event(start("h1", "REPLACEMENT | INSTALL | Install clamav"))
    live.fake.tick(5)
    text = render(live)
    assert "batch 1 of 3 · 2 host(s) · running 0:05" in text
    assert "13:02:10Z · window night closes 2026-05-01T15:02:05Z · 1:59:55 left" in text
    assert "hosts 0 verified · 0 failed · 4 remaining of 4" in text
    assert re.search(r"^h1 +pending +REPLACEMENT \| INSTALL \| Install clamav +0:05$", text, re.M)
    assert "1 waiting to start: h2" in text


def test_clock_and_time_left_move_without_any_event(live):
    live.batch_start(1, 1, ["h1"], WINDOW)
    live.event(start("h1", "Take a while"))
    before = render(live)
    live.fake.tick(1)
    after = render(live)
    assert "13:02:05Z" in before and "2:00:00 left" in before
    assert "13:02:06Z" in after and "1:59:59 left" in after
    assert re.search(r"Take a while +0:01$", after, re.M)


def test_refresh_thread_redraws_on_its_own(live):
    live.batch_start(1, 1, ["h1"], WINDOW)
    live.event(start("h1", "Take a while"))
    live.fake.tick(7)  # no event, no print: only the refresh thread can draw the new clock
    deadline = time.monotonic() + 60
    while "13:02:12Z · window night" not in SGR.sub("", live.buf.getvalue()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "1:59:53 left" in SGR.sub("", live.buf.getvalue())
    assert live.live.transient  # removed at the end, the final summary takes its place


def test_a_new_batch_never_shows_the_previous_batch_task(live):
    live.batch_start(1, 2, ["h1"], WINDOW)
    live.event(start("h1", "VERIFY | ASSERT | The host is verified"))
    live.host_changed("h1", HostProgress(state=HostState.VERIFIED))
    live.batch_end(1, {"verified": 1}, 3.0)
    live.batch_start(2, 2, ["h2", "h3"], WINDOW)
    text = render(live)
    assert "VERIFY" not in text and "h1" not in text
    assert "2 waiting to start: h2, h3" in text
    live.event(start("h2", "Touch the host"))
    live.event(start("h9", "a host of no batch"))
    text = render(live)
    assert re.search(r"^h2 +pending +Touch the host", text, re.M) and "h9" not in text
    assert "hosts 1 verified · 0 failed · 3 remaining of 4" in text


def test_finished_hosts_go_to_the_scrollback_with_their_clock_time(live):
    live.batch_start(1, 1, ["h1", "h2"], WINDOW)
    live.fake.tick(61)
    live.host_changed("h1", HostProgress(state=HostState.REPLACED))
    live.host_changed("h1", HostProgress(state=HostState.VERIFIED))
    live.host_changed("h2", HostProgress(state=HostState.FAILED, reason="'Remove' failed: postrm of kesl failed"))
    live.batch_end(1, {"verified": 1, "failed": 1}, 61.0)
    live.close()
    out = SGR.sub("", live.buf.getvalue())
    assert "13:02:05Z batch 1/1: 2 host(s): h1, h2 (window night: 2h 00m left)" in out
    assert "13:03:06Z   h1: verified" in out
    assert "13:03:06Z   h2: failed: 'Remove' failed: postrm of kesl failed" in out
    assert "13:03:06Z batch 1 done in 61 s: 1 failed, 1 verified" in out
    assert not re.search(r"Z +h1: replaced", out)  # only end states go to the scrollback
    assert not live.live.is_started


def test_deferred_hosts_are_one_line_per_reason(live):
    for host in ("h2", "h3", "h4"):
        live.host_changed(host, HostProgress(state=HostState.DEFERRED, reason="not started: campaign stopped"))
    live.note("stopped: campaign stopped")
    out = SGR.sub("", live.buf.getvalue())
    assert out.count("host(s) deferred") == 1
    assert "3 host(s) deferred (h2, h3, h4): not started: campaign stopped" in out
    assert out.index("deferred (h2") < out.index("stopped: campaign stopped")
    assert "3 deferred" in render(live)


def test_many_hosts_in_flight_fit_the_terminal_height(live):
    hosts = [f"host{i:03d}" for i in range(60)]
    live.counts.total = 60
    live.batch_start(1, 1, hosts, WINDOW)
    for host in hosts[:50]:
        live.event(start(host, "Take a while"))
    text = render(live, height=24)
    assert len(text.splitlines()) <= 22
    assert "more running" in text and "10 waiting to start: host050" in text


def test_host_names_and_tasks_with_controls_are_escaped(live):
    live.batch_start(1, 1, ["h1"], WINDOW)
    live.event(start("h1", "evil \x1b[2J task"))
    text = render(live)
    assert "\x1b[2J" not in text and "\\x1b[2J" in text


def test_the_command_line_window_is_not_named_by_its_option():
    window = windows.OpenWindow(name="--window", opens=T0, closes=T0 + dt.timedelta(minutes=5))
    assert progress.batch_start_line(1, 1, ["h1"], window, T0).endswith("(window: 5m 00s left)")
    assert progress.window_label(WINDOW) == "window night"


def test_plain_lines_with_clock_times():
    buf = io.StringIO()
    clock = Clock()
    plain = progress.PlainProgress(2, stream=buf, clock=clock)
    plain.batch_start(1, 1, ["h1", "h2"], WINDOW)
    plain.event(start("h1", "Touch"))
    clock.tick(3)
    plain.host_changed("h1", HostProgress(state=HostState.REPLACED))
    plain.host_changed("h1", HostProgress(state=HostState.VERIFIED))
    plain.host_changed("h2", HostProgress(state=HostState.UNREACHABLE, reason="unreachable during 'Touch'"))
    plain.batch_end(1, {"verified": 1, "unreachable": 1}, 3.2)
    plain.note("stopped: x\x1b[2J")
    plain.close()
    assert buf.getvalue().splitlines() == [
        "13:02:05Z batch 1/1: 2 host(s): h1, h2 (window night: 2h 00m left)",
        "13:02:08Z   h1: verified",
        "13:02:08Z   h2: unreachable: unreachable during 'Touch'",
        "13:02:08Z batch 1 done in 3 s: 1 unreachable, 1 verified (campaign: 1 verified, 1 failed, 0 remaining)",
        "13:02:08Z stopped: x\\x1b[2J",
    ]
