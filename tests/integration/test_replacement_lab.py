# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The replacement role on real lab hosts: ClamAV by EICAR on light and systemd hosts, check mode,
idempotence, signatures from files, commercial profiles healthy and unhealthy, secrets never logged."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ripreplace.lab import fakeapproved

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

PLAYBOOK = textwrap.dedent("""\
    - name: Apply the replacement role
      hosts: "{{ target }}"
      gather_facts: false
      roles:
        - role: ripreplace.remediation.replacement
      post_tasks:
        - name: Save the fact on the controller
          ansible.builtin.copy:
            content: "{{ ripreplace_replacement | to_nice_json }}"
            dest: "{{ fact_dir }}/{{ inventory_hostname }}.json"
            mode: "0600"
          delegate_to: localhost
          check_mode: false
          changed_when: false  # test plumbing: never counted in the host's recap
    """)

SNAPSHOT = (
    "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' | sort; "
    "find /etc /var/lib/clamav -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum; "
    "find /etc /var/lib/clamav -xdev \\( -type l -o -type d \\) 2>/dev/null | sort"
)
SECRET_JSON = '{"orgId": "RIPREPLACE-TEST-SECRET-ORG-7f3a9c", "onboardingInfo": "RIPREPLACE-TEST-SECRET-BLOB"}'
SECRET_CID = "0123456789ABCDEF0123456789ABCDEF-A7"


@pytest.fixture(scope="module")
def play(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("replacement")
    path = directory / "apply.yml"
    path.write_text(PLAYBOOK)
    return path


def run(lab, play: Path, host: str, *extra: str, **vars_: object):
    facts = play.parent / "facts"
    facts.mkdir(exist_ok=True)
    variables = {"target": host, "fact_dir": str(facts), **vars_}
    result = lab.ansible_playbook(play, "-e", json.dumps(variables), *extra)
    fact_file = facts / f"{host}.json"
    fact = json.loads(fact_file.read_text()) if fact_file.exists() else None
    if fact_file.exists():
        fact_file.unlink()
    return result, fact


def recap(stdout: str, host: str) -> dict[str, int]:
    line = next(ln for ln in stdout.splitlines() if ln.startswith(host) and "ok=" in ln)
    return {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}


def mirror_vars(lab) -> dict[str, object]:
    return {
        "replacement_clamav_signatures_url": lab.lab.state["repo_url"] + "clamav/",
        "replacement_clamav_official_databases": False,
        "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
    }


def repo_vars(lab, product: str, **more: object) -> dict[str, object]:
    return {
        "replacement_product": product,
        "replacement_apt_repo_url": lab.lab.state["repo_url"],
        "replacement_apt_repo_suite": "./",
        "replacement_apt_repo_allow_unsigned": True,
        "replacement_health_retries": 3,
        "replacement_health_delay": 1,
        **more,
    }


def snapshot(lab, host: str) -> str:
    return lab.sh(host, "sh", "-c", SNAPSHOT).stdout


def assert_eicar_detected(lab, host: str) -> None:
    eicar = fakeapproved.eicar_test_string().decode()
    out = lab.lab.sh(host, "clamdscan", "--no-summary", "-", check=False, input_text=eicar)
    assert out.returncode == 1 and "FOUND" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("kind", ["light", "systemd"])
def test_clamav_check_mode_install_health_idempotence(lab, play: Path, kind: str) -> None:
    host = (lab.light_hosts if kind == "light" else lab.systemd_hosts)[0]
    lab.reset(host)
    before = snapshot(lab, host)
    checked, fact = run(lab, play, host, "--check", **mirror_vars(lab))
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert fact and fact["healthy"] is False and fact["check_mode"] is True
    assert "would install clamav, clamav-daemon, clamav-freshclam, clamdscan" in fact["reason"], fact["reason"]
    assert snapshot(lab, host) == before, "check mode changed the host"

    first, fact = run(lab, play, host, **mirror_vars(lab))
    assert first.returncode == 0, first.stdout[-4000:]
    assert fact["healthy"] is True and fact["product"] == "clamav" and fact["remove_first"] is False
    assert fact["version"].startswith("1.")
    assert {c["name"] for c in fact["checks"] if c["ok"]} >= {
        "clamd detects the EICAR test string (stdin)",
        "clamd passes a clean sample (stdin)",
    }
    for key in ("install_started", "install_finished", "healthy_at", "checked_at"):
        assert fact["times"][key], key
    print(f"{host}: ClamAV install {fact['times']['install_s']} s, health {fact['times']['health_s']} s")
    assert_eicar_detected(lab, host)
    # freshclam is configured for the private mirror only: no DNS, no public mirror.
    conf = lab.sh(host, "cat", "/etc/clamav/freshclam.conf").stdout
    assert "DNSDatabaseInfo no" in conf and "\nDatabaseMirror" not in conf
    # No EICAR sample left on disk.
    assert lab.sh(host, "sh", "-c", "grep -rl EICAR-STANDARD /tmp /root /var/tmp 2>/dev/null || true").stdout == ""

    second, fact = run(lab, play, host, **mirror_vars(lab))
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap(second.stdout, host)["changed"] == 0, second.stdout[-3000:]
    assert fact["healthy"] is True and fact["changed"] is False


def test_clamav_signatures_from_files_masks_freshclam(lab, play: Path, tmp_path: Path) -> None:
    host = lab.systemd_hosts[0]
    lab.reset(host)
    db = tmp_path / fakeapproved.CLAMAV_LAB_DB
    db.write_text(fakeapproved.clamav_lab_database())
    # The lab inventory names its mirror; files replace it here (exactly one source is allowed).
    result, fact = run(
        lab, play, host, replacement_clamav_signatures_files=[str(db)], replacement_clamav_signatures_url=""
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert fact["healthy"] is True
    assert lab.sh(host, "systemctl", "is-enabled", "clamav-freshclam", check=False).stdout.strip() == "masked"
    assert_eicar_detected(lab, host)


def test_mdatp_from_repo_healthy_then_unhealthy_and_secret_never_logged(lab, play: Path) -> None:
    host = lab.light_hosts[1]
    lab.reset(host)
    variables = repo_vars(lab, "mdatp", replacement_mdatp_onboarding_json=SECRET_JSON)
    result, fact = run(lab, play, host, "-vvv", **variables)
    assert result.returncode == 0, result.stdout[-4000:]
    assert fact["healthy"] is True and fact["version"] == "101.24092.0002"
    mode = lab.sh(host, "stat", "-c", "%a", "/etc/opt/microsoft/mdatp/mdatp_onboard.json").stdout.strip()
    assert mode == "600"
    for text in (result.stdout, result.stderr, json.dumps(fact)):
        assert "RIPREPLACE-TEST-SECRET" not in text
    runs = Path.cwd() / "runs"
    if runs.is_dir():
        for path in runs.rglob("*"):
            if path.is_file():
                assert b"RIPREPLACE-TEST-SECRET" not in path.read_bytes(), path

    lab.sh(host, "sh", "-c", "mkdir -p /etc/ripreplace-lab && echo unhealthy > /etc/ripreplace-lab/health-mdatp")
    result, fact = run(lab, play, host, **variables)
    assert result.returncode != 0
    assert "is NOT healthy on" in result.stdout and "mdatp reports healthy: false" in result.stdout
    assert "RIPREPLACE-TEST-SECRET" not in result.stdout + result.stderr


def test_falcon_from_package_file_with_pinned_sha256(lab, play: Path) -> None:
    import hashlib

    host = lab.light_hosts[2] if len(lab.light_hosts) > 2 else lab.light_hosts[0]
    lab.reset(host)
    deb = lab.lab.fake_package("falcon-sensor")
    sha = hashlib.sha256(deb.read_bytes()).hexdigest()
    base = {
        "replacement_product": "falcon-sensor",
        "replacement_package_source": "file",
        "replacement_package_file": str(deb),
        "replacement_falcon_cid": SECRET_CID,
        "replacement_health_retries": 3,
        "replacement_health_delay": 1,
    }
    wrong, _ = run(lab, play, host, **{**base, "replacement_package_sha256": "0" * 64})
    assert wrong.returncode != 0 and "refusing to install it" in wrong.stdout
    assert lab.sh(host, "dpkg-query", "-W", "falcon-sensor", check=False).returncode != 0

    result, fact = run(lab, play, host, "-vvv", **{**base, "replacement_package_sha256": sha})
    assert result.returncode == 0, result.stdout[-4000:]
    assert fact["healthy"] is True
    assert SECRET_CID.lower()[:32] not in (result.stdout + result.stderr).lower()
    again, _ = run(lab, play, host, **{**base, "replacement_package_sha256": sha})
    assert recap(again.stdout, host)["changed"] == 0, again.stdout[-3000:]

    lab.sh(
        host, "sh", "-c", "mkdir -p /etc/ripreplace-lab && echo unhealthy > /etc/ripreplace-lab/health-falcon-sensor"
    )
    failed, fact = run(lab, play, host, **{**base, "replacement_package_sha256": sha})
    assert failed.returncode != 0 and "not in reduced functionality mode" in failed.stdout


SECRET_TOKEN = "RIPREPLACE-TEST-SECRET-S1-TOKEN-42"


def test_sentinelone_from_repo_healthy_then_unhealthy_and_token_never_logged(lab, play: Path) -> None:
    host = lab.systemd_hosts[0]
    lab.reset(host)
    variables = repo_vars(lab, "sentinelone", replacement_sentinelone_site_token=SECRET_TOKEN)
    result, fact = run(lab, play, host, "-vvv", **variables)
    assert result.returncode == 0, result.stdout[-4000:]
    assert fact["healthy"] is True and fact["product"] == "sentinelone"
    assert lab.sh(host, "systemctl", "is-active", "sentinelone").stdout.strip() == "active"
    for text in (result.stdout, result.stderr, json.dumps(fact)):
        assert SECRET_TOKEN not in text
    knob = "/etc/ripreplace-lab/health-sentinelagent"
    lab.sh(host, "sh", "-c", f"mkdir -p /etc/ripreplace-lab && echo unhealthy > {knob}")
    result, fact = run(lab, play, host, **variables)
    assert result.returncode != 0
    assert "is NOT healthy on" in result.stdout
    assert SECRET_TOKEN not in result.stdout + result.stderr
    lab.reset(host)
