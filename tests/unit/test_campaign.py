# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The campaign core: batches (serial semantics), estimates, per-host state from runner events, the loop.

The loop runs with a fake clock and a fake playbook runner that replays runner events of the shape
ansible-runner streams (captured from real runs: event, event_data.host/task/task_action/
resolved_action/role/res).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ripreplace import campaign, records, windows
from ripreplace.campaign import BatchSpec, HostProgress, HostState
from ripreplace.constants import ExitCode
from ripreplace.exceptions import UsageError
from ripreplace.runner import PlaybookResult

T0 = dt.datetime(2026, 12, 5, 6, 0, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- batches
@pytest.mark.parametrize(
    ("spec", "hosts", "sizes"),
    [
        ("1,10%,100%", 20, [1, 2, 17]),
        ("1,10%,50%,100%", 100, [1, 10, 50, 39]),
        ("1,50%,100%", 6, [1, 3, 2]),
        ("2", 5, [2, 2, 1]),  # the last entry repeats
        ("10%", 5, [1, 1, 1, 1, 1]),  # a percentage rounds down, at least one host
        ("1,3", 10, [1, 3, 3, 3]),
        ("100%", 4, [4]),
        ("5,100%", 3, [3]),  # never more than the hosts left
    ],
)
def test_plan_batches_serial_semantics(spec, hosts, sizes):
    names = [f"h{i:03d}" for i in range(hosts)]
    batches = campaign.plan_batches(campaign.parse_batches(spec), names)
    assert [len(b) for b in batches] == sizes
    assert [h for b in batches for h in b] == names


@pytest.mark.parametrize(
    "bad", ["", "0", "1,,2", "x", "150%", "-1", "1.5", "10%%", "1" * 23, "\u0663", "1_0", "1000000000"]
)
def test_bad_batches(bad):
    with pytest.raises(UsageError) as info:
        campaign.parse_batches(bad)
    assert "\n" not in str(info.value) and "--batches" in str(info.value)


@pytest.mark.parametrize("bad", ["x", "-1", "101", "nan", "inf", "1_0", "1e1", "-0", "", "\u0663", "100.5"])
def test_bad_max_fail(bad):
    with pytest.raises(UsageError, match="--max-fail"):
        campaign.parse_percent(bad)


def test_max_fail_accepts_a_percent_sign():
    assert campaign.parse_percent("25%") == 25.0
    assert campaign.parse_percent(" 12.5 ") == 12.5 and campaign.parse_percent("0") == 0.0


# --------------------------------------------------------------------------- estimates
def test_estimator_scales_by_waves_and_keeps_the_floor():
    est = campaign.Estimator(forks=5)
    assert est.estimate(10) is None
    est.record(1, 60.0)  # canary: one wave of 60 s
    assert est.estimate(5) == dt.timedelta(seconds=60)
    assert est.estimate(12) == dt.timedelta(seconds=180)  # three waves
    est.record(5, 90.0)  # slower wave: the slowest is kept
    assert est.estimate(5) == dt.timedelta(seconds=90)
    floor = campaign.Estimator(forks=5, floor=dt.timedelta(minutes=10))
    assert floor.estimate(1) == dt.timedelta(minutes=10)
    floor.record(50, 3000.0)  # 10 waves of 300 s
    assert floor.estimate(5) == dt.timedelta(minutes=10)
    assert floor.estimate(50) == dt.timedelta(seconds=3000)
    assert "--batch-estimate" in floor.basis()


# --------------------------------------------------------------------------- events -> state
def ev(
    kind: str,
    host: str,
    task: str,
    action: str = "ansible.builtin.set_fact",
    *,
    role: str | None = None,
    res: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    data = {
        "host": host,
        "task": task,
        "task_action": action,
        "resolved_action": action,
        "role": role,
        "res": res or {},
        **extra,
    }
    return {"event": kind, "event_data": data}


FINDING = {
    "catalog_id": "kaspersky-kesl",
    "vendor": "Kaspersky",
    "product": "KESL",
    "state": "installed",
    "confidence": "high",
    "review": False,
    "covered_list": {
        "entry": "Kaspersky",
        "added": "2022-03-25",
        "sources": ["https://www.fcc.gov/supplychain/coveredlist"],
    },
    "evidence": [
        {"kind": "deb", "value": "kesl", "confidence": "high", "source": "P: kit", "details": {"version": "12.4"}}
    ],
}


REMOVED = {"step": "remove", "outcome": "removed", "reason": "", "check_mode": False, "ran": True}
VERIFIED = {"step": "verify", "outcome": "verified", "reason": "", "check_mode": False, "recorded": True}


def host_events(host: str, *, healthy: bool = True, fail_at: str | None = None) -> list[dict[str, Any]]:
    """The events of remediate.yml for one host, as ansible-runner streams them."""
    out = [
        ev("runner_on_start", host, "DETECT | SCAN | Find covered software", "ripreplace.remediation.covered_facts"),
        ev(
            "runner_on_ok",
            host,
            "DETECT | SCAN | Find covered software",
            "ripreplace.remediation.covered_facts",
            role="detect",
            res={"ansible_facts": {"covered_software": {"findings": [FINDING], "excepted": []}}},
        ),
        ev(
            "runner_on_ok",
            host,
            "REPLACEMENT | HEALTH | Record the outcome in ripreplace_replacement",
            role="replacement",
            res={
                "ansible_facts": {
                    "ripreplace_replacement": {
                        "step": "replacement",
                        "outcome": "healthy" if healthy else "unhealthy",
                        "product": "clamav",
                        "name": "ClamAV",
                        "version": "1.0.9",
                        "healthy": healthy,
                        "check_mode": False,
                        "reason": "" if healthy else "clamd did not detect EICAR",
                    }
                }
            },
        ),
    ]
    if not healthy:
        out.append(
            ev(
                "runner_on_failed",
                host,
                "REPLACEMENT | HEALTH | Fail the host when the replacement is not proven healthy",
                "ansible.builtin.fail",
                role="replacement",
                res={"msg": "ClamAV is NOT healthy on " + host},
            )
        )
        return out
    if fail_at == "remove":
        out.append(
            ev(
                "runner_on_failed",
                host,
                "REMOVE | PURGE | Stop, uninstall and purge",
                "ripreplace.remediation.covered_remove",
                role="remove",
                res={"msg": "dpkg: postrm of kesl failed", "rc": 1},
            )
        )
        return out
    out += [
        ev(
            "runner_on_ok",
            host,
            "REMOVE | PURGE | Stop, uninstall and purge",
            "ripreplace.remediation.covered_remove",
            role="remove",
            res={"changed": True, "actions": [{"action": "purge", "package": "kesl"}]},
        ),
        ev(
            "runner_on_ok",
            host,
            "REMOVE | RECORD | Keep what was removed",
            role="remove",
            res={"ansible_facts": {"remove_outcome": REMOVED}},
        ),
        ev(
            "runner_on_ok",
            host,
            "VERIFY | OUTCOME | Decide the host's outcome",
            role="verify",
            res={"ansible_facts": {"verify_outcome": {**VERIFIED, "recorded": False}}},
        ),
        ev(
            "runner_on_ok",
            host,
            "VERIFY | OUTCOME | Publish the outcome, now recorded on the host",
            role="verify",
            res={"ansible_facts": {"verify_outcome": VERIFIED}},
        ),
        ev(
            "runner_on_ok",
            host,
            "VERIFY | ASSERT | The host is verified",
            "ansible.builtin.assert",
            role="verify",
            res={"changed": False},
        ),
    ]
    return out


def tracker_for(hosts, saves=None):
    return campaign.StateTracker(
        "run-1",
        {h: HostProgress() for h in hosts},
        persist=(lambda t: saves.append(t.as_dict())) if saves is not None else None,
        clock=lambda: T0,
    )


def test_state_transitions_of_a_remediated_host():
    saves: list[dict[str, Any]] = []
    tracker = tracker_for(["web1"], saves)
    seen = []
    for event in host_events("web1"):
        tracker(event)
        seen.append(tracker.hosts["web1"].state)
    assert [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]] == [
        HostState.PENDING,
        HostState.REPLACED,
        HostState.REMOVED,
        HostState.VERIFIED,
    ]
    record = tracker.hosts["web1"]
    assert record.findings[0]["catalog_id"] == "kaspersky-kesl"
    assert record.replacement["product"] == "clamav" and record.removed == [{"action": "purge", "package": "kesl"}]
    assert [h["state"] for h in record.history] == ["replaced", "removed", "verified"]
    assert saves and saves[-1]["hosts"]["web1"]["state"] == "verified" and saves[-1]["format"] == "ripreplace-state/2"
    assert campaign.host_status(record) == ("remediated", "removed kaspersky-kesl; clamav healthy; verified clean")


def _renamed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same events with every task and role renamed (no name keeps a word of the old one)."""
    out = []
    for n, event in enumerate(events):
        data = dict(event["event_data"], task=f"step {n}", role="r" if event["event_data"].get("role") else None)
        out.append({**event, "event_data": data})
    return out


@pytest.mark.parametrize("rename", [False, True])
def test_task_and_role_names_change_nothing(rename):
    """The state machine reads declared facts (module results by FQCN, the roles' outcome facts)."""
    tracker = tracker_for(["web1"])
    seen = []
    events = host_events("web1")
    for event in _renamed(events) if rename else events:
        tracker(event)
        seen.append(str(tracker.hosts["web1"].state))
    # the same state after every single event: renaming moves nothing, not even when it happens
    assert seen == [*["pending"] * 2, "replaced", "removed", "removed", "removed", "verified", "verified"]
    record = tracker.hosts["web1"]
    assert record.verify["recorded"] is True and record.removed == [{"action": "purge", "package": "kesl"}]


def test_an_assert_in_a_role_named_verify_verifies_nothing():
    tracker = tracker_for(["web1"])
    for event in host_events("web1")[:3]:
        tracker(event)
    tracker(
        ev("runner_on_ok", "web1", "VERIFY | ASSERT | The host is verified", "ansible.builtin.assert", role="verify")
    )
    assert tracker.hosts["web1"].state == HostState.REPLACED


def test_verified_only_once_recorded_and_never_from_check_mode_or_foreign_facts():
    tracker = tracker_for(["web1"])
    for event in host_events("web1")[:3]:
        tracker(event)

    def facts(**f: Any) -> dict[str, Any]:
        return ev("runner_on_ok", "web1", "x", res={"ansible_facts": f})

    tracker(facts(verify_outcome={**VERIFIED, "recorded": False}))  # decided, not yet on the host
    assert tracker.hosts["web1"].state == HostState.REPLACED
    tracker(facts(verify_outcome={"outcome": "verified", "recorded": True}))  # no step: not the role's fact
    tracker(facts(verify_outcome={**VERIFIED, "outcome": "passed"}))  # not an outcome of the contract
    assert tracker.hosts["web1"].state == HostState.REPLACED
    check = tracker_for(["web2"])
    check(
        ev(
            "runner_on_ok",
            "web2",
            "x",
            res={
                "ansible_facts": {
                    "ripreplace_replacement": {"step": "replacement", "outcome": "healthy", "check_mode": True}
                }
            },
        )
    )
    assert check.hosts["web2"].state == HostState.PENDING and check.hosts["web2"].replacement is None
    tracker(facts(verify_outcome=VERIFIED))
    assert tracker.hosts["web1"].state == HostState.VERIFIED


def test_unhealthy_replacement_fails_with_the_reason_and_is_never_removed():
    tracker = tracker_for(["web1"])
    for event in host_events("web1", healthy=False):
        tracker(event)
    record = tracker.hosts["web1"]
    assert record.state == HostState.FAILED and "NOT healthy" in record.reason
    assert "Fail the host" in record.reason and record.removed is None


def test_failed_removal_keeps_the_task_message():
    tracker = tracker_for(["web1"])
    for event in host_events("web1", fail_at="remove"):
        tracker(event)
    assert tracker.hosts["web1"].state == HostState.FAILED
    reason = tracker.hosts["web1"].reason
    assert reason == "'REMOVE | PURGE | Stop, uninstall and purge' failed: dpkg: postrm of kesl failed"


def test_unreachable_ignored_errors_and_unknown_hosts():
    tracker = tracker_for(["web1", "web2"])
    tracker(ev("runner_on_failed", "web1", "probe", "ansible.builtin.command", res={"msg": "no"}, ignore_errors=True))
    assert tracker.hosts["web1"].state == HostState.PENDING
    tracker(ev("runner_on_unreachable", "web1", "DETECT | SCAN", res={"msg": "ssh: connect timed out"}))
    assert tracker.hosts["web1"].state == HostState.UNREACHABLE
    assert tracker.hosts["web1"].reason == "unreachable during 'DETECT | SCAN': ssh: connect timed out"
    tracker(ev("runner_on_failed", "web1", "later", res={"msg": "x"}))  # stays unreachable
    assert tracker.hosts["web1"].state == HostState.UNREACHABLE
    tracker(ev("runner_on_ok", "nobody", "x"))
    assert "nobody" not in tracker.hosts


def test_clean_host_and_excepted_host_statuses():
    clean = HostProgress(state=HostState.VERIFIED, findings=[], excepted=[])
    assert campaign.host_status(clean)[0] == "clean"
    excepted = HostProgress(state=HostState.VERIFIED, findings=[], excepted=[{"catalog_id": "kaspersky-kesl"}])
    assert campaign.host_status(excepted)[0] == "excepted"
    review = HostProgress(state=HostState.VERIFIED, findings=[{"catalog_id": "x", "review": True}], excepted=[])
    assert campaign.host_status(review)[0] == "clean"
    for state in (HostState.PENDING, HostState.INTERRUPTED, HostState.DEFERRED, HostState.REPLACED):
        assert campaign.host_status(HostProgress(state=state))[0] == "deferred"


def test_finish_batch_marks_unfinished_hosts():
    tracker = tracker_for(["a", "b", "c"])
    tracker.set("a", HostState.REPLACED)
    tracker.hosts["c"].verify = {"outcome": "verified"}
    tracker.finish_batch(["a", "b", "c"], canceled=False, result=PlaybookResult("failed", 2, {}))
    assert tracker.hosts["a"].state == HostState.FAILED and "before the host was verified" in tracker.hosts["a"].reason
    assert tracker.hosts["c"].state == HostState.VERIFIED
    tracker2 = tracker_for(["a"])
    tracker2.set("a", HostState.REMOVED)
    tracker2.finish_batch(["a"], canceled=True, result=PlaybookResult("canceled", 0, {}))
    assert tracker2.hosts["a"].state == HostState.INTERRUPTED and "resume" in tracker2.hosts["a"].reason


# --------------------------------------------------------------------------- the loop
class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class Log:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def decision(self, kind: str, **data: Any) -> None:
        self.records.append(("decision", kind, data))

    def host_state(self, host: str, state: str, **data: Any) -> None:
        self.records.append(("host-state", state, {"host": host, **data}))

    def kinds(self) -> list[str]:
        return [k for t, k, _ in self.records if t == "decision"]


class Quiet:
    def batch_start(self, *a: Any) -> None: ...
    def host_changed(self, *a: Any) -> None: ...
    def event(self, *a: Any) -> None: ...
    def batch_end(self, *a: Any) -> None: ...
    def note(self, *a: Any) -> None: ...


class FakeRunner:
    """Replays per-host events; ``seconds`` of fake time per batch; failing hosts; optional cancel poll."""

    def __init__(
        self,
        clock: Clock,
        seconds: float = 60.0,
        *,
        unhealthy=(),
        fail_remove=(),
        unreachable=(),
        poll_every: float | None = None,
        flaky=(),
    ) -> None:
        self.clock, self.seconds = clock, seconds
        self.unhealthy, self.fail_remove, self.unreachable = set(unhealthy), set(fail_remove), set(unreachable)
        self.flaky = set(flaky)  # unreachable on the first attempt only
        self.poll_every = poll_every
        self.batches: list[list[str]] = []
        self.attempts: list[int] = []

    def __call__(self, hosts, number, on_event, cancel, *, attempt=1):
        self.batches.append(list(hosts))
        self.attempts.append(attempt)
        if self.poll_every:
            elapsed = 0.0
            while elapsed < self.seconds:
                self.clock.advance(self.poll_every)
                elapsed += self.poll_every
                if cancel():
                    for h in hosts:  # hosts got as far as the replacement
                        for e in host_events(h)[:3]:
                            on_event(e)
                    return PlaybookResult("canceled", 254, {})
        else:
            self.clock.advance(self.seconds)
        for h in hosts:
            if h in self.unreachable or (h in self.flaky and attempt == 1):
                on_event(ev("runner_on_unreachable", h, "DETECT | SCAN", res={"msg": "link down"}))
                continue
            for e in host_events(
                h, healthy=h not in self.unhealthy, fail_at="remove" if h in self.fail_remove else None
            ):
                on_event(e)
        return PlaybookResult("successful", 0, {})


def make_plan(
    hosts, *, window="now/PT1H", batches="1,50%,100%", max_fail=0.0, estimate=None, hard_stop=False, forks=5, start=T0
):
    return campaign.CampaignPlan(
        run_id="run-1",
        targets=tuple(hosts),
        groups={h: frozenset({"all"}) for h in hosts},
        schedule=windows.parse_interval(window, now=start),
        batches=campaign.parse_batches(batches),
        max_fail=max_fail,
        forks=forks,
        batch_estimate=estimate,
        hard_stop=hard_stop,
    )


def run(plan, runner, clock, hosts):
    tracker = tracker_for(hosts)
    log = Log()
    result = campaign.run_campaign(plan, tracker, run_batch=runner, log=log, progress=Quiet(), clock=clock)
    summary = campaign.build_summary(
        run_id="run-1",
        tracker=tracker,
        targets=plan.targets,
        result=result,
        window=plan.schedule.as_dict(),
        previous=None,
    )
    return tracker, log, result, summary


HOSTS = [f"web{i}" for i in range(1, 7)]


def test_full_campaign_every_host_verified_exit_0():
    clock = Clock(T0)
    runner = FakeRunner(clock)
    tracker, log, result, summary = run(make_plan(HOSTS), runner, clock, HOSTS)
    assert [len(b) for b in runner.batches] == [1, 3, 2]
    assert all(r.state == HostState.VERIFIED for r in tracker.hosts.values())
    assert summary["counts"] == {"remediated": 6} and result.stop_reason is None
    assert summary["exit_code"] == ExitCode.OK
    assert log.kinds() == ["window-check"] + ["window-check", "batch-start", "batch-end"] * 3
    assert [b["counts"] for b in summary["batches"]] == [{"verified": 1}, {"verified": 3}, {"verified": 2}]


def test_summary_and_state_validate_against_the_shipped_schemas():
    clock = Clock(T0)
    runner = FakeRunner(clock, unhealthy={"web2"}, unreachable={"web3"})
    tracker, _log, _result, summary = run(make_plan(HOSTS, batches="100%", max_fail=100), runner, clock, HOSTS)
    assert records.validate(summary, "summary") == []
    assert records.validate(tracker.as_dict(previous=None, targets=HOSTS), "state") == []
    assert summary["hosts"]["web1"]["findings"] == [FINDING]  # the module's finding, unchanged


def test_the_plan_shown_is_the_plan_run(monkeypatch):
    """open_campaign's batches run as they are, even when the clock moved after the operator saw them."""
    clock = Clock(T0)
    plan = make_plan(HOSTS, window="now/PT1H", batches="2,100%")
    opening = campaign.open_campaign(plan, clock())
    assert opening.batches == (("web1", "web2"), ("web3", "web4", "web5", "web6"))
    clock.advance(120)  # the operator read the plan and typed yes
    calls = []
    real_open_at = windows.open_at

    def counting(*args: Any) -> Any:
        calls.append(args)
        return real_open_at(*args)

    monkeypatch.setattr(windows, "open_at", counting)
    monkeypatch.setattr(campaign.loop, "open_campaign", lambda *a: pytest.fail("the start was computed again"))
    runner = FakeRunner(clock)
    tracker = tracker_for(HOSTS)
    log = Log()
    result = campaign.run_campaign(
        plan, tracker, run_batch=runner, log=log, progress=Quiet(), clock=clock, opening=opening
    )
    assert runner.batches == [list(b) for b in opening.batches] and result.stop is None
    assert len(calls) == len(HOSTS)  # one window computation per host per batch decision, none repeated
    start = log.records[0][2]
    assert start["now"] == "2026-12-05T06:00:00.000Z" and start["hosts_open"] == 6


def test_outside_the_window_nothing_runs_exit_5():
    clock = Clock(T0)
    runner = FakeRunner(clock)
    plan = make_plan(HOSTS, window="2026-12-06T01:00:00Z/PT2H")
    _tracker, log, result, summary = run(plan, runner, clock, HOSTS)
    assert runner.batches == [] and result.outside_window
    assert "opens 2026-12-06T01:00:00Z" in result.stop_reason
    assert {h["status"] for h in summary["hosts"].values()} == {"deferred"}
    assert summary["exit_code"] == ExitCode.WINDOW
    assert log.records[0][2]["ok"] is False and log.kinds()[-1] == "stop"


def test_short_window_defers_the_batches_that_would_not_finish():
    clock = Clock(T0)
    runner = FakeRunner(clock, seconds=600)
    plan = make_plan(HOSTS, window="now/PT15M", batches="1,1,100%", estimate=dt.timedelta(minutes=8))
    tracker, log, result, summary = run(plan, runner, clock, HOSTS)
    assert runner.batches == [["web1"]]  # 15 min left >= 8; then 5 min left < 10 (measured)
    assert result.stopped_by == "window" and "would not finish" in result.stop_reason
    assert [tracker.hosts[h].state for h in HOSTS[1:]] == [HostState.DEFERRED] * 5
    assert summary["exit_code"] == ExitCode.WINDOW
    refused = [d for t, k, d in log.records if t == "decision" and k == "window-check" and d.get("ok") is False]
    assert refused and refused[0]["estimate_s"] == 600.0


def test_failing_canary_stops_the_later_batches_exit_4():
    clock = Clock(T0)
    runner = FakeRunner(clock, fail_remove={"web1"})
    _tracker, _log, result, summary = run(make_plan(HOSTS, max_fail=50), runner, clock, HOSTS)
    assert runner.batches == [["web1"]]
    assert result.stopped_by == "batch-failed" and "failed as a whole" in result.stop_reason
    assert summary["hosts"]["web1"]["status"] == "failed" and "postrm" in summary["hosts"]["web1"]["reason"]
    assert all(summary["hosts"][h]["status"] == "deferred" for h in HOSTS[1:])
    assert "campaign stopped" in summary["hosts"]["web2"]["reason"]
    assert summary["exit_code"] == ExitCode.HOSTS_FAILED


def test_max_fail_holds():
    clock = Clock(T0)
    hosts = [f"h{i:02d}" for i in range(1, 11)]
    # batch 2 = 4 hosts (1 fails = 25% <= 30%) continues; batch 3 = 4 hosts (2 fail = 50% > 30%) stops
    runner = FakeRunner(clock, unhealthy={"h02", "h06", "h07"})
    tracker, _log, result, _summary = run(make_plan(hosts, batches="1,4", max_fail=30), runner, clock, hosts)
    assert [len(b) for b in runner.batches] == [1, 4, 4]
    assert result.stopped_by == "max-fail" and "more than --max-fail 30%" in result.stop_reason
    assert tracker.hosts["h10"].state == HostState.DEFERRED
    # with max-fail 0 the first failure stops the campaign
    clock = Clock(T0)
    runner = FakeRunner(clock, unhealthy={"h02"})
    _t, _l, result, _s = run(make_plan(hosts, batches="1,4", max_fail=0), runner, clock, hosts)
    assert [len(b) for b in runner.batches] == [1, 4] and result.stopped_by == "max-fail"


def test_unreachable_host_does_not_stop_the_others_in_its_batch():
    clock = Clock(T0)
    runner = FakeRunner(clock, unreachable={"web3"})
    _tracker, _log, _result, summary = run(make_plan(HOSTS, batches="100%", max_fail=50), runner, clock, HOSTS)
    assert summary["hosts"]["web3"]["status"] == "unreachable"
    assert summary["counts"] == {"remediated": 5, "unreachable": 1}
    assert summary["exit_code"] == ExitCode.HOSTS_FAILED


def test_a_host_unreachable_once_is_retried_at_the_batch_end_and_verified():
    clock = Clock(T0)
    runner = FakeRunner(clock, flaky={"web3"})
    tracker, log, result, summary = run(make_plan(HOSTS, batches="100%"), runner, clock, HOSTS)
    assert runner.batches == [HOSTS, ["web3"]] and runner.attempts == [1, 2]  # one retry, only the host down
    assert summary["hosts"]["web3"]["status"] == "remediated" and summary["counts"] == {"remediated": 6}
    assert summary["exit_code"] == ExitCode.OK and result.stop is None
    retries = [d for t, k, d in log.records if t == "decision" and k == "host-retry"]
    assert retries == [
        {
            "host": "web3",
            "batch": 1,
            "reason": "unreachable during 'DETECT | SCAN': link down",
            "attempt": 2,
            "of": 2,
        }
    ]
    assert log.kinds().index("host-retry") < log.kinds().index("batch-end")  # retried before the batch is judged
    batch = summary["batches"][0]
    assert batch["counts"] == {"verified": 6} and batch["failed_pct"] == 0.0
    assert batch["retry"]["hosts"] == {"web3": {"first": retries[0]["reason"], "state": "verified"}}
    states = [h["state"] for h in tracker.hosts["web3"].history]
    assert states[:2] == ["unreachable", "pending"] and states[-1] == "verified"  # state.json shows the retry
    assert "retry (attempt 2)" in tracker.hosts["web3"].history[1]["reason"]
    assert records.validate(summary, "summary") == []
    assert records.validate(tracker.as_dict(previous=None, targets=HOSTS), "state") == []


def test_a_host_that_stays_down_is_retried_once_and_ends_unreachable():
    clock = Clock(T0)
    runner = FakeRunner(clock, unreachable={"web3"})
    _tracker, log, _result, summary = run(make_plan(HOSTS, batches="100%", max_fail=50), runner, clock, HOSTS)
    assert runner.attempts == [1, 2] and runner.batches[1] == ["web3"]  # one extra attempt, no more
    assert summary["hosts"]["web3"]["status"] == "unreachable"
    assert "also on the retry at the end of batch 1" in summary["hosts"]["web3"]["reason"]
    assert summary["batches"][0]["retry"]["hosts"]["web3"]["state"] == "unreachable"
    assert log.kinds().count("host-retry") == 1 and summary["exit_code"] == ExitCode.HOSTS_FAILED
    assert records.validate(summary, "summary") == []


def test_no_retry_once_the_window_has_closed():
    clock = Clock(T0)
    runner = FakeRunner(clock, seconds=900, flaky={"web1"})
    tracker, log, _result, summary = run(make_plan(HOSTS, window="now/PT10M"), runner, clock, HOSTS)
    assert runner.attempts == [1]  # the canary's batch ended after the close: nothing new starts
    assert tracker.hosts["web1"].state == HostState.UNREACHABLE and "host-retry" not in log.kinds()
    assert "host-retry-skipped" in log.kinds() and "retry" not in summary["batches"][0]


def test_window_closing_during_a_batch_lets_it_finish_then_stops():
    clock = Clock(T0)
    runner = FakeRunner(clock, seconds=900, poll_every=30)
    tracker, log, result, summary = run(make_plan(HOSTS, window="now/PT10M"), runner, clock, HOSTS)
    assert runner.batches == [["web1"]] and tracker.hosts["web1"].state == HostState.VERIFIED
    assert result.stopped_by == "window" and "window-close" in log.kinds()
    assert all(tracker.hosts[h].state == HostState.DEFERRED for h in HOSTS[1:])
    assert summary["exit_code"] == ExitCode.WINDOW


def test_hard_stop_cancels_and_marks_hosts_interrupted():
    clock = Clock(T0)
    runner = FakeRunner(clock, seconds=900, poll_every=30)
    tracker, _log, result, summary = run(
        make_plan(HOSTS, window="now/PT10M", batches="2,100%", hard_stop=True), runner, clock, HOSTS
    )
    assert [tracker.hosts[h].state for h in ("web1", "web2")] == [HostState.INTERRUPTED] * 2
    assert "cancelled (--hard-stop)" in result.stop_reason
    assert summary["hosts"]["web1"]["status"] == "deferred" and summary["hosts"]["web1"]["state"] == "interrupted"
    assert clock.now <= T0 + dt.timedelta(minutes=10, seconds=30)
    assert summary["exit_code"] == ExitCode.WINDOW


def test_interrupt_before_a_batch_defers_the_rest():
    clock = Clock(T0)
    interrupt = campaign.Interrupt()

    def runner(hosts, number, on_event, cancel):
        interrupt.requested = "SIGTERM"
        return FakeRunner(clock)(hosts, number, on_event, cancel)

    tracker = tracker_for(HOSTS)
    result = campaign.run_campaign(
        make_plan(HOSTS), tracker, run_batch=runner, log=Log(), progress=Quiet(), clock=clock, interrupt=interrupt
    )
    assert result.stopped_by == "interrupt" and "SIGTERM" in result.stop_reason
    assert tracker.hosts["web1"].state == HostState.VERIFIED
    assert tracker.hosts["web2"].state == HostState.DEFERRED


def test_batch_spec_str():
    assert [str(s) for s in campaign.parse_batches("1, 10% ,100%")] == ["1", "10%", "100%"]
    assert BatchSpec(10, True).size(5) == 1
