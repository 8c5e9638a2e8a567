# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
# ruff: noqa: E402 - ansible plugins put DOCUMENTATION before the imports, as core's callbacks do

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_log
type: notification
short_description: Write the run's tamper-evident audit log (audit.jsonl)
version_added: 0.1.0
author:
  - ripreplace developers (@ripreplace)
description:
  - Records what a playbook run does into a hash-chained, append-only JSON Lines file, C(audit.jsonl),
    that C(ripreplace verify-log) checks. The format is documented in C(docs/audit-log.md) of the
    collection.
  - One C(run-start) record (the run manifest), one C(playbook-start) per playbook, one C(play-start)
    per play, one C(task) record per task result per host (task, action, status
    ok/changed/failed/skipped/unreachable, start and end time, the task arguments, the C(findings) or
    C(removed) keys of the result in short, the diff where there is one, and under C(facts) the
    findings of C(covered_facts) and the roles' outcome facts it sets), C(item) and C(retry) records
    for loops and retries, C(host-state) records when a host fails, becomes unreachable or is added,
    one C(playbook-end) with the stats, and one C(run-end) with the stats, the record count, the
    chain's final hash and the sha256 of C(manifest.json).
  - Every record carries a sequence number, the hash of the record before it and its own sha256; with
    a key (O(key_file) or the variable named by O(key_env)) also an HMAC-SHA256. With a signing key
    (O(signing_key_file)) the run-end this plugin writes carries an Ed25519 signature, which
    C(ripreplace verify-log --public-key) checks with the public key alone.
  - Privacy. The results and arguments of C(no_log) tasks, every value under a name like password,
    passwd, passphrase, secret, token, key or credential (case-insensitive, at any depth; names that
    only say where a secret lives, such as C(*_file), or name a public key, are not secret), and the
    extra vars themselves are never written; a redaction marker says what was left out. The values
    of vault-encrypted variables, of secret-named variables and of the variables a site lists in
    C(ripreplace_secret_vars) (6 characters or more) are replaced wherever they appear in a record
    (O(scrub_secrets)). Other values, such as the name of the product installed, are recorded.
  - Durability. The file is opened with O_APPEND and mode 0600; every record is one C(write()) of one
    full line under an exclusive C(flock), so many forks and a second writer (the C(ripreplace)
    wrapper) never interleave within a line. Records are fsynced in groups, at most
    O(fsync_interval) seconds apart, and on run-end.
  - Standalone (the default, plain C(ansible-playbook), ansible-runner, AWX), the plugin writes
    run-start at the first playbook and run-end when the run ends, writes C(manifest.json) beside
    the log for its run (another run's manifest found there is moved to C(manifests/<run>.json)), and
    repeats the final hash into it under C(audit_log). Run-end is written just before the stdout
    callback reports the stats, and the chain head (run id, final hash, record count, status) is set
    as the custom stat C(ripreplace_audit) (as C(set_stats) does). AWX keeps it in the job's artifacts
    and hands it to the next nodes of a workflow. Without O(log_path) the log goes to
    C(<runs_dir>/<run_id>/audit.jsonl); without O(runs_dir) either, under ansible-runner and AWX it
    goes to the job's artifact directory (C($AWX_ISOLATED_DATA_DIR/ripreplace/audit.jsonl)), which the
    worker ships back, else to C(./runs/<run id>/audit.jsonl) relative to the directory
    C(ansible-playbook) was started in.
  - Under an engine the manifest records the job's identity from an allow-list of its variables
    (C(awx_job_id), C(awx_user_name), C(awx_job_template_name), C(awx_workflow_job_id), ... and their
    C(tower_*) aliases; never another extra var), and C(awx_user_name) is the operator unless
    E(RIPREPLACE_OPERATOR) says otherwise. With O(emit_records) every record is also printed as a line
    C(RIPREPLACE-AUDIT <record>), so it reaches the job's events; C(ripreplace verify-log) rebuilds and
    verifies the log from an AWX job-events export or from C(ansible-runner process)'s directory.
  - Wrapped (O(wrapped=true), set by the C(ripreplace) command), the wrapper writes run-start, its
    decisions and run-end itself, possibly around several playbooks; the plugin writes
    playbook-start to playbook-end only. If no run is open in the log it writes run-start and run-end
    itself, as standalone, and warns.
  - If the log cannot be written (bad path, unreadable key, corrupt last line, full disk, read-only file),
    the plugin shows an error naming the log and the cause and, with O(halt_on_error), stops the playbook
    at once, so no task starts after a record the log could not take (no change it does not hold).
requirements:
  - enable it with C(callbacks_enabled = ripreplace.remediation.audit_log) in C(ansible.cfg) or
    E(ANSIBLE_CALLBACKS_ENABLED)
options:
  log_path:
    description:
      - Path of the audit log. It is appended to, never truncated.
      - When unset, C(<runs_dir>/<run_id>/audit.jsonl).
    type: path
    env:
      - name: RIPREPLACE_AUDIT_LOG
    ini:
      - section: callback_audit_log
        key: log_path
  runs_dir:
    description:
      - Directory under which the default log path C(<runs_dir>/<run_id>/audit.jsonl) is made (one
        directory per run, so a durable directory shared by many jobs never mixes their manifests).
      - When unset, the job's artifact directory under ansible-runner and AWX
        (C($AWX_ISOLATED_DATA_DIR/ripreplace/audit.jsonl)), else C(./runs).
    type: path
    env:
      - name: RIPREPLACE_RUNS_DIR
    ini:
      - section: callback_audit_log
        key: runs_dir
  run_id:
    description:
      - Identifier of the run, written in every record.
      - When unset, C(<UTC time>-playbook-<6 hex>) is generated; in wrapped mode the run open in the log is used.
    type: str
    env:
      - name: RIPREPLACE_RUN_ID
    ini:
      - section: callback_audit_log
        key: run_id
  manifest_path:
    description:
      - Path of the run's C(manifest.json). Its content is embedded in the run-start record and, when
        this plugin ends the run, the final hash and record count are written into it under
        C(audit_log) (atomic rewrite; every other key is kept).
      - When unset, C(manifest.json) beside the log. When the file does not exist the plugin writes one
        (run id, mode, check mode, operator, ticket, start time, versions, sha256 of the playbooks,
        inventory and catalogs).
    type: path
    env:
      - name: RIPREPLACE_MANIFEST
    ini:
      - section: callback_audit_log
        key: manifest_path
  wrapped:
    description:
      - Set by the C(ripreplace) wrapper, which writes run-start and run-end itself around one or more
        playbooks; the plugin then writes playbook-start to playbook-end only.
    type: bool
    default: false
    env:
      - name: RIPREPLACE_WRAPPED
    ini:
      - section: callback_audit_log
        key: wrapped
  halt_on_error:
    description:
      - End the playbook (as C(kill -TERM) does, exit 143) when a record cannot be written, or at its start when the
        log cannot be opened; the wrapper always sets it. False only where a run without a full log is acceptable
        (the error is shown either way). A value not a boolean (true/false, yes/no, on/off, 1/0) halts, warning.
    type: raw
    default: true
    env:
      - name: RIPREPLACE_AUDIT_HALT_ON_ERROR
    ini:
      - section: callback_audit_log
        key: halt_on_error
  key_file:
    description:
      - File holding the HMAC-SHA256 key (its content, trailing newline stripped). With a key every
        record carries an HMAC and cannot be forged without it.
      - Takes precedence over O(key_env). A configured but unreadable or empty file is an error.
    type: path
    env:
      - name: RIPREPLACE_AUDIT_KEY_FILE
    ini:
      - section: callback_audit_log
        key: key_file
  signing_key_file:
    description:
      - Ed25519 private key (PEM, PKCS#8, unencrypted; C(openssl genpkey -algorithm ED25519) or
        C(ripreplace verify-log --gen-key)) with which the run-end records this plugin writes are
        signed (standalone runs; in wrapped runs the wrapper writes and signs run-end).
      - A configured but unreadable file, or a key of another kind, is an error.
    type: path
    env:
      - name: RIPREPLACE_AUDIT_SIGNING_KEY_FILE
    ini:
      - section: callback_audit_log
        key: signing_key_file
  key_env:
    description: Name of the environment variable holding the HMAC key, used when O(key_file) is unset.
    type: str
    default: RIPREPLACE_AUDIT_KEY
    env:
      - name: RIPREPLACE_AUDIT_KEY_ENV
    ini:
      - section: callback_audit_log
        key: key_env
  emit_records:
    description:
      - Also print every record as one line C(RIPREPLACE-AUDIT <record>) on the standard output, which
        ansible-runner (and so AWX) turns into one C(verbose) event each; the trail is then kept with
        the job's events even where the engine deletes the job's files.
      - When unset, on under ansible-runner and AWX (E(AWX_ISOLATED_DATA_DIR) set) unless O(wrapped),
        off otherwise. It adds one event per record to the job.
    type: bool
    env:
      - name: RIPREPLACE_AUDIT_EMIT_RECORDS
    ini:
      - section: callback_audit_log
        key: emit_records
  fsync_interval:
    description:
      - At most this many seconds of records are written but not yet fsynced (a power loss may take
        them). C(0) fsyncs every record. Run-end is always fsynced.
    type: float
    default: 1.0
    env:
      - name: RIPREPLACE_AUDIT_FSYNC_INTERVAL
    ini:
      - section: callback_audit_log
        key: fsync_interval
  result_keys:
    description:
      - Keys of a task result that are recorded (in short, truncated), when present. C(diff) is governed
        by O(include_diff).
    type: list
    elements: str
    default: [findings, removed, msg, rc, skip_reason, false_condition, evidence, replacement, locked]
    env:
      - name: RIPREPLACE_AUDIT_RESULT_KEYS
    ini:
      - section: callback_audit_log
        key: result_keys
  include_diff:
    description: Record the C(diff) of a result when there is one (truncated like every value).
    type: bool
    default: true
    env:
      - name: RIPREPLACE_AUDIT_DIFF
    ini:
      - section: callback_audit_log
        key: include_diff
  max_string:
    description: Longest string value recorded; longer ones are cut with a marker saying how much was left out.
    type: int
    default: 2048
    env:
      - name: RIPREPLACE_AUDIT_MAX_STRING
    ini:
      - section: callback_audit_log
        key: max_string
  scrub_secrets:
    description:
      - Replace, wherever it appears in a record, every value (6 characters or more) of a
        vault-encrypted variable, of a secret-named variable and of a variable listed in
        C(ripreplace_secret_vars), read from the extra vars, the play's variables and each host's
        variables (inventory, group_vars, host_vars), with a redaction marker.
      - The extra vars themselves are never recorded either way.
    type: bool
    default: true
    env:
      - name: RIPREPLACE_AUDIT_SCRUB_SECRETS
    ini:
      - section: callback_audit_log
        key: scrub_secrets
  ticket:
    description:
      - Change ticket written into the manifest this plugin creates (standalone runs). Without it, the
        extra var C(ripreplace_ticket) (the ticket C(remediate.yml)'s change-window guard requires, an AWX
        survey's answer) when it is a string.
    type: str
    env:
      - name: RIPREPLACE_TICKET
    ini:
      - section: callback_audit_log
        key: ticket
notes:
  - "Enable under AWX or ansible-runner the same way: C(callbacks_enabled) in the project's C(ansible.cfg),
    or E(ANSIBLE_CALLBACKS_ENABLED) in the job environment; point O(log_path) to persistent storage there."
  - "Task arguments are recorded after redaction by name; a secret written literally into a free-form
    argument (a C(command) line) or a templated file's diff cannot be recognised: mark such tasks C(no_log)."
"""

import os
import threading

from ansible import context
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version
from ansible_collections.ripreplace.remediation.plugins.plugin_utils import audit_stats
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_alarm import Alarm, halt_setting
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_engine import (
    EMIT_PREFIX,
    engine_identity,
    engine_user,
    runner_run_dir,
)
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_events import (
    ItemCounts,
    SecretVars,
    StartTimes,
    TaskContext,
    host_name,
    playbook_end,
    playbook_start,
    result_data,
    task_of,
    task_record,
)
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_record import (
    FORMAT,
    HOST_STATE,
    ITEM,
    PLAY_START,
    PLAYBOOK_END,
    PLAYBOOK_START,
    RETRY,
    RUN_END,
    RUN_START,
    TASK,
    AuditChainError,
    load_key,
)
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_redact import Redactor
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_sign import load_signer
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_writer import AuditWriter, record_final_hash
from ansible_collections.ripreplace.remediation.plugins.plugin_utils.run_files import (
    COLLECTION_ROOT,
    build_manifest,
    claim_manifest,
    digests,
    isotime,
    new_run_id,
    utcnow,
)


class CallbackModule(CallbackBase):
    """Write every event of the run into the hash-chained audit log (see DOCUMENTATION)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "ripreplace.remediation.audit_log"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._writer = None
        self._disabled = None  # reason, once the log cannot be written
        self._alarm = Alarm(self._display)  # errors shown once; the halt (option halt_on_error)
        self._warn, self._error = self._alarm.warn, self._alarm.error
        self._owner = False  # this plugin writes run-start / run-end
        self._hooked = self._ended = False  # run-end before the stdout callback's stats (audit_stats)
        self._run_id = self._log_path = self._manifest_path = None
        self._playbooks = []
        self._play = None
        self._lock = threading.Lock()
        self._starts = StartTimes()
        self._host_states = {}
        self._items = ItemCounts()  # loop summaries from the item hooks (2.21 results lack 'failed')
        self._redactor = None
        self._secrets = None
        self._signer = None
        self._identity = {}
        self._extra_ticket = None  # the extra var ripreplace_ticket, when the ticket option is not set

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._wrapped = bool(self.get_option("wrapped"))
        self._run_id = self.get_option("run_id") or None
        if not self._run_id and not self._wrapped:
            self._run_id = new_run_id("playbook")
        log_path = self.get_option("log_path")
        runner_dir = runner_run_dir()
        if not log_path and not self.get_option("runs_dir") and runner_dir and not self._wrapped:
            log_path = os.path.join(runner_dir, "audit.jsonl")  # the job's artifacts: shipped back, one per job
        if not log_path:
            run_dir_name = self._run_id or new_run_id("playbook")
            self._run_id = self._run_id or run_dir_name
            log_path = os.path.join(self.get_option("runs_dir") or "./runs", run_dir_name, "audit.jsonl")
        self._log_path = os.path.abspath(os.path.expanduser(log_path))
        manifest = self.get_option("manifest_path")
        self._manifest_path = (
            os.path.abspath(os.path.expanduser(manifest))
            if manifest
            else os.path.join(os.path.dirname(self._log_path), "manifest.json")
        )
        emit = self.get_option("emit_records")
        self._emit = bool(runner_dir and not self._wrapped) if emit is None else bool(emit)
        self._result_keys = [k for k in (self.get_option("result_keys") or []) if k != "diff"]
        self._include_diff = bool(self.get_option("include_diff"))
        self._scrub = bool(self.get_option("scrub_secrets"))
        self._alarm.halt = halt_setting(self.get_option("halt_on_error"), self._warn)
        self._redactor = Redactor(max_string=int(self.get_option("max_string") or 2048))
        self._secrets = SecretVars(self._redactor, self._warn) if self._scrub else None
        try:
            self._key = load_key(self.get_option("key_file"), self.get_option("key_env"))
            signing = self.get_option("signing_key_file")
            self._signer = load_signer(signing) if signing else None
        except AuditChainError as exc:
            self._disable(str(exc))

    def _disable(self, reason):
        self._disabled = reason
        self._error(f"the audit log is NOT being written: {reason}")

    def _write(self, rtype, data):
        if self._disabled or self._writer is None:
            return None
        try:
            return self._writer.append(rtype, data)
        except (AuditChainError, OSError) as exc:
            self._error(f"cannot write a {rtype} record to {self._log_path}: {exc}")
            self._alarm.stop_playbook()
            return None

    def _check_mode(self):
        return bool(context.CLIARGS.get("check", False))

    def _learn_extra_vars(self, extra_vars):
        self._identity = engine_identity(extra_vars)  # the engine's job identity, allow-listed names only
        ticket = (extra_vars or {}).get("ripreplace_ticket")
        self._extra_ticket = (ticket.strip() or None) if isinstance(ticket, str) else None
        if self._secrets is not None and extra_vars:
            self._secrets.learn(extra_vars, "the extra vars")

    def _print_record(self, line):
        self._display.display(EMIT_PREFIX + line.decode("utf-8", "replace"))

    def _build_manifest(self):
        return build_manifest(
            run_id=self._run_id,
            mode="playbook",
            started=utcnow(),
            check_mode=self._check_mode(),
            playbooks=context.CLIARGS.get("args") or (),
            inventory=[i for i in (context.CLIARGS.get("inventory") or ()) if os.path.exists(i)],
            catalogs=[os.path.join(COLLECTION_ROOT, "catalog")],
            ticket=self.get_option("ticket") or self._extra_ticket,
            written_by=self.CALLBACK_NAME,
            engine=self._identity,
            engine_user=engine_user(self._identity),
        )

    def _load_or_write_manifest(self):
        try:
            return claim_manifest(self._manifest_path, self._run_id, self._build_manifest)
        except OSError as exc:
            self._error(f"cannot write {self._manifest_path}: {exc}")
            return self._build_manifest()

    def _open(self):
        if self._writer is not None or self._disabled:
            return
        try:
            self._writer = AuditWriter(
                self._log_path,
                run_id=self._run_id,
                key=self._key,
                source="callback",
                fsync_interval=float(self.get_option("fsync_interval")),
                redactor=self._redactor,
                signer=self._signer,
                on_line=self._print_record if self._emit else None,
            )
            open_run = self._writer.open_run()
        except (AuditChainError, OSError) as exc:
            self._disable(str(exc))
            return
        if self._wrapped and open_run is not None:
            if self._run_id is None:
                self._run_id = self._writer.run_id = open_run
            self._owner = False
            return
        if self._wrapped:
            self._display.warning(
                f"[ripreplace.remediation.audit_log] wrapped mode but no run is open in {self._log_path}: "
                "this playbook writes run-start and run-end itself"
            )
            if self._run_id is None:
                self._run_id = self._writer.run_id = new_run_id("playbook")
        self._owner = True
        data = {
            "format": FORMAT,
            "manifest": self._load_or_write_manifest(),
            "mode": "check" if self._check_mode() else "apply",
            "wrapped": self._wrapped,
            "writer": {"plugin": self.CALLBACK_NAME, "pid": os.getpid(), "ansible-core": ansible_version},
        }
        if self._write(RUN_START, data) is None:
            self._owner = False

    def _task_record(self, result, status, rtype):
        task = task_of(result)
        host = host_name(result)
        uuid = getattr(task, "_uuid", None)
        start = self._starts.of(host, uuid, final=rtype == TASK)
        data = result_data(result)
        if rtype == ITEM:
            self._items.add(host, uuid, status, changed=bool(data.get("changed")))
        attempt = self._items.retry(host, uuid, data.get("_ansible_item_label")) if rtype == RETRY else None
        ctx = TaskContext(
            start=start,
            play=self._play,
            check_mode=self._check_mode(),
            result_keys=self._result_keys,
            include_diff=self._include_diff,
            items=self._items.take(host, uuid) if rtype == TASK else None,
            attempt=attempt,
        )
        return task_record(result, status, rtype, isotime(utcnow()), ctx)

    def _host_transition(self, host, state, **data):
        with self._lock:
            if self._host_states.get(host) == state:
                return
            self._host_states[host] = state
        payload = dict(data)
        payload.update(host=host, state=state)
        self._write(HOST_STATE, payload)

    def _result(self, result, status, rtype=TASK):
        if self._disabled or self._writer is None:
            return
        if self._secrets is not None:
            self._secrets.host(getattr(result, "host", None) or getattr(result, "_host", None))
        try:
            record = self._task_record(result, status, rtype)
        except Exception as exc:  # never lose the result because one attribute is odd
            record = {"host": host_name(result), "status": status, "error": f"cannot describe the result: {exc!r}"}
        self._write(rtype, record)
        host = record.get("host")
        data = result_data(result)
        if rtype == TASK and status == "unreachable":
            self._host_transition(host, "unreachable", task=record.get("task"), reason=record.get("msg"))
        elif rtype == TASK and status == "failed" and not record.get("ignore_errors"):
            self._host_transition(host, "failed", task=record.get("task"), reason=record.get("msg"))
        added = data.get("add_host")  # on the task, or on each item of a loop
        if isinstance(added, dict) and added.get("host_name") and not record.get("result"):
            self._host_transition(
                to_text(added["host_name"]), "added", by=host, groups=added.get("groups") or [], task=record.get("task")
            )

    def v2_playbook_on_start(self, playbook):
        from ansible.utils.vars import load_extra_vars

        self._ended = self._alarm.ending = False  # ansible-playbook sends the stats after each playbook file
        self._learn_extra_vars(getattr(load_extra_vars, "extra_vars", None))
        self._open()
        if self._disabled:
            self._alarm.stop_playbook()  # before the first task: the log could not be opened
        data = playbook_start(playbook, context.CLIARGS)
        self._playbooks.append(data["playbook"])
        self._write(PLAYBOOK_START, data)
        if self._owner and not self._hooked:  # run-end before the stats event: the head in the job's stats
            tqm = audit_stats.calling_queue_manager()
            self._hooked = tqm is not None and audit_stats.run_before_stats(tqm, self._end, self._error)

    def v2_playbook_on_play_start(self, play):
        if self._secrets is not None:
            self._secrets.play(play)  # the extra vars, play vars and vars_files
        self._play = to_text(play.get_name()).strip()
        hosts = getattr(play, "hosts", None)
        self._write(PLAY_START, {"play": self._play, "hosts": hosts, "uuid": getattr(play, "_uuid", None)})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._starts.task(task._uuid)

    def v2_playbook_on_handler_task_start(self, task):
        self._starts.task(task._uuid)

    def v2_runner_on_start(self, host, task):
        self._starts.host(host.get_name(), task._uuid)

    def v2_runner_on_ok(self, result):
        self._result(result, "changed" if result_data(result).get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_runner_item_on_ok(self, result):
        self._result(result, "changed" if result_data(result).get("changed") else "ok", ITEM)

    def v2_runner_item_on_failed(self, result):
        self._result(result, "failed", ITEM)

    def v2_runner_item_on_skipped(self, result):
        self._result(result, "skipped", ITEM)

    def v2_runner_retry(self, result):
        self._result(result, "retry", RETRY)

    def v2_playbook_on_stats(self, stats):
        self._end(stats)

    def _end(self, stats):
        if self._ended:
            return
        self._ended = self._alarm.ending = True  # nothing left to stop
        data = playbook_end(stats, self._playbooks)
        status, per_host = data["status"], data["stats"]
        self._write(PLAYBOOK_END, data)
        if self._owner:
            files = digests([self._manifest_path])  # run-end covers the manifest (without its audit_log key)
            end = self._write(
                RUN_END, {"status": status, "stats": per_host, "playbooks": self._playbooks, "files": files}
            )
            if end is not None:
                head = {"run_id": self._run_id, "final_hash": end.hash, "records": end.count, "status": status}
                audit_stats.publish_head(stats, head)  # set_stats: the job's artifacts under AWX
                try:
                    record_final_hash(self._manifest_path, end, log_path=self._log_path, run_id=self._run_id)
                except (OSError, ValueError) as exc:
                    self._error(f"cannot repeat the final hash into {self._manifest_path}: {exc}")
            self._owner = False
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError as exc:
                self._error(f"cannot close {self._log_path}: {exc}")
            self._writer = None
