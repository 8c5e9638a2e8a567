# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Lab pieces that need no root: naming, prerequisites, fake package contents."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ripreplace.exceptions import LabError, LabPrerequisiteError
from ripreplace.lab import fakepkgs, net, prereq


@pytest.mark.parametrize("index", [0, 9, 63])
def test_interface_names_fit_the_kernel_limit(index):
    slot = net.Slot(index)
    for number in (1, 99, 200):
        for name in slot.veth_names(number):
            assert len(name) <= 15, name
    assert slot.subnet == f"10.250.{index}.0/24"
    assert slot.host_addr(1) == f"10.250.{index}.11"


def test_macs_are_deterministic_and_distinct():
    slot = net.Slot(3)
    macs = {slot.host_mac(n) for n in range(1, 201)}
    assert len(macs) == 200
    assert slot.host_mac(5) == net.Slot(3).host_mac(5) == "02:72:72:03:00:05"


def test_missing_tool_gives_one_line_with_the_install_command():
    with pytest.raises(LabPrerequisiteError) as err:
        prereq.require(need_root=False, tools={"definitely-not-a-tool-xyz": "pkg-xyz"})
    message = str(err.value)
    assert "\n" not in message
    assert "definitely-not-a-tool-xyz" in message and "apt-get install -y pkg-xyz" in message


def test_debian_package_list_covers_every_tool():
    assert set(prereq.TOOLS.values()) <= set(prereq.DEBIAN_PACKAGES)


@pytest.mark.parametrize("name", sorted(fakepkgs.PACKAGES))
def test_maintainer_scripts_are_valid_shell(name, tmp_path):
    for script, lines in fakepkgs.maintainer_scripts(fakepkgs.PACKAGES[name]).items():
        path = tmp_path / script
        path.write_text(fakepkgs._script(lines))
        result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{name} {script}: {result.stderr}"


def test_decoy_has_nothing_of_kaspersky():
    kics = fakepkgs.PACKAGES["kics"]
    assert "Checkmarx" in kics.maintainer and "aspersky" not in kics.maintainer
    assert not any("kaspersky" in path for path in kics.files)
    assert kics.service is None


def test_klnagent_leaves_its_state_dir_even_on_purge():
    agent = fakepkgs.PACKAGES["klnagent64"]
    assert "/var/opt/kaspersky/klnagent" in agent.state_dirs
    assert agent.purged_state_dirs == ()


@pytest.mark.skipif(
    subprocess.run(["which", "dpkg-deb", "gcc"], capture_output=True, check=False).returncode,
    reason="needs dpkg-deb and gcc",
)
def test_built_deb_has_the_real_layout(tmp_path):
    daemon = fakepkgs.compile_daemon(tmp_path)
    deb = fakepkgs.build_deb(fakepkgs.PACKAGES["kesl"], tmp_path, daemon)
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in (
        "./opt/kaspersky/kesl/libexec/kesl",
        "./lib/systemd/system/kesl.service",
        "./etc/init.d/kesl",
        "./etc/opt/kaspersky/kesl/kesl.conf",
        "./usr/bin/kesl-control",
    ):
        assert path in listing
    conffiles = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Version"], capture_output=True, text=True, check=True
    ).stdout
    assert "kesl" in conffiles and "12.4.0-1225" in conffiles
    info = subprocess.run(
        ["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert info == ["/etc/opt/kaspersky/kesl/kesl.conf", "/etc/init.d/kesl"]
    gui = fakepkgs.build_deb(fakepkgs.PACKAGES["kesl-gui"], tmp_path, daemon)
    depends = subprocess.run(
        ["dpkg-deb", "-f", str(gui), "Depends"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert depends == "kesl (= 12.4.0-1225)"


def test_fake_daemon_stops_on_sigterm_and_logs(tmp_path):
    import signal
    import time

    daemon = fakepkgs.compile_daemon(tmp_path)
    log = tmp_path / "d.log"
    proc = subprocess.Popen([str(daemon), "--log", str(log)])
    try:
        for _ in range(100):
            if log.exists() and "started" in log.read_text():
                break
            time.sleep(0.02)
        assert Path(f"/proc/{proc.pid}/exe").resolve() == daemon.resolve()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
        proc.wait()
    assert log.read_text().split()[-1] == "stopped"


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    """A stand-in ssh: fails as ssh does (exit 255, its own message) while tmp_path/fail holds a count > 0."""
    from ripreplace.lab import proc

    monkeypatch.setattr(proc, "SSH_RETRY_DELAYS", (0.01, 0.01, 0.01))
    script = tmp_path / "ssh"
    script.write_text(
        "#!/bin/sh\n"
        f"n=$(cat {tmp_path}/fail); echo run >> {tmp_path}/runs\n"
        f'if [ "$n" -gt 0 ]; then echo $((n-1)) > {tmp_path}/fail; echo "$MSG" >&2; exit 255; fi\n'
        "echo done\n"
    )
    script.chmod(0o755)
    return script


def _ssh_runs(tmp_path):
    return len((tmp_path / "runs").read_text().splitlines())


@pytest.mark.parametrize(
    ("message", "rerun"),
    [
        ("ssh: connect to host 10.250.0.11 port 22: Connection timed out", False),
        ("Connection timed out during banner exchange", False),
        ("kex_exchange_identification: Connection closed by remote host", False),
        # rerun=True (a command that only reads: dpkg-query, cat): a session cut mid-command is tried again too
        ("Read from remote host 10.250.0.11: Connection reset by peer", True),
        ("client_loop: send disconnect: Broken pipe", True),
        ("ssh: connect to host 10.250.0.11 port 22: Connection timed out", True),
    ],
)
def test_ssh_that_could_not_connect_is_tried_again(fake_ssh, tmp_path, monkeypatch, message, rerun):
    from ripreplace.lab import proc

    monkeypatch.setenv("MSG", message)
    (tmp_path / "fail").write_text("2")
    assert proc.run_ssh([fake_ssh], rerun=rerun).stdout == "done\n" and _ssh_runs(tmp_path) == 3
    (tmp_path / "fail").write_text("9")  # still failing after 3 more tries: the error, one line
    with pytest.raises(LabError, match=r"failed \(rc=255\)"):
        proc.run_ssh([fake_ssh], rerun=rerun)
    assert _ssh_runs(tmp_path) == 3 + 4


@pytest.mark.parametrize(
    "message",
    [
        "the remote command's own failure",
        "Read from remote host 10.250.0.11: Connection reset by peer",  # cut mid-command: it may have run
        "Connection to 10.250.0.11 closed by remote host.",
        "client_loop: send disconnect: Broken pipe",
    ],
)
def test_a_command_that_ran_and_exited_255_is_not_run_again(fake_ssh, tmp_path, monkeypatch, message):
    from ripreplace.lab import proc

    monkeypatch.setenv("MSG", message)
    (tmp_path / "fail").write_text("1")
    result = proc.run_ssh([fake_ssh], check=False)
    assert result.returncode == 255 and _ssh_runs(tmp_path) == 1
