# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The audit log's verifier: one pass over the file, a verdict naming the first bad record.

A verdict is ``ok``, ``incomplete`` (a run without run-end, or a last line cut short: the run was
killed, every complete record still verifies) or ``tampered`` (anything else). Lines are split by
:func:`audit_record.parse_line`, the same parser every reader uses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from .audit_record import (
    GENESIS,
    RECORD_TYPES,
    RUN_END,
    RUN_START,
    TRUNCATION,
    VERSION,
    AuditChainError,
    Parsed,
    PathLike,
    parse_line,
)
from .audit_sign import Verifier

#: Verdict statuses of :func:`verify`.
OK = "ok"
INCOMPLETE = "incomplete"
TAMPERED = "tampered"
_HEADS = {OK: "OK", INCOMPLETE: "INCOMPLETE RUN", TAMPERED: "TAMPERED"}


class Verdict:
    """The outcome of :func:`verify`. ``status`` is ok, incomplete or tampered; ``line`` and ``seq``
    name the first bad record (1-based line number) when there is one."""

    def __init__(
        self,
        status: str,
        message: str,
        records: int,
        runs: int,
        *,
        line: int | None = None,
        seq: int | None = None,
        final_hash: str | None = None,
        notes: Iterable[str] = (),
        run_end: dict[str, Any] | None = None,
        run_end_line: int | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.records = records
        self.runs = runs
        self.line = line
        self.seq = seq
        self.final_hash = final_hash
        self.notes = list(notes)
        #: ``data`` and line of the log's last run-end (its ``files`` are checked against the run directory).
        self.run_end = run_end
        self.run_end_line = run_end_line

    @property
    def ok(self) -> bool:
        return self.status == OK

    def one_line(self) -> str:
        text = f"{_HEADS[self.status]}: {self.message}"
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "records": self.records,
            "runs": self.runs,
            "line": self.line,
            "seq": self.seq,
            "final_hash": self.final_hash,
            "notes": self.notes,
        }

    def __repr__(self) -> str:
        return f"Verdict({self.one_line()!r})"


class _Fragment:
    """An unparseable line awaiting the truncation record that must describe it."""

    __slots__ = ("data", "line", "offset")

    def __init__(self, line: int, offset: int, data: bytes) -> None:
        self.line = line
        self.offset = offset
        self.data = data


class _Chain:
    """The verifier's state while it reads a log line by line; :meth:`feed` returns a verdict to stop.

    ``expect_hash`` / ``expect_records``: what manifest.json (or ``expect_source``: the job's stats)
    repeats of the last run-end; a log without run-end is *incomplete* (killed) only when it still
    holds that run-end.
    """

    def __init__(
        self,
        key: bytes | None,
        verifier: Verifier | None = None,
        expect_hash: str | None = None,
        expect_records: int | None = None,
        expect_source: str = "manifest.json",
    ) -> None:
        self.key = key
        self.source = expect_source
        self.mac_base = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
        self.verifier = verifier
        self.expect_hash = expect_hash
        self.expect_records = expect_records
        self.expected_seen_at: int | None = None  # record count at which expect_hash was seen
        self.expected_seq = 0
        self.prev = GENESIS
        self.open_run: Any = None  # run id of the segment being read
        self.open_line = 0
        self.runs = 0
        self.incomplete_runs: list[tuple[Any, int]] = []
        self.records = 0
        self.offset = 0
        self.lineno = 0
        self.fragment: _Fragment | None = None
        self.partial = 0  # bytes of a last line cut short (no newline)
        self.no_mac = 0
        self.signed = 0
        self.run_end: dict[str, Any] | None = None
        self.run_end_line: int | None = None

    def bad(self, message: str, seq: Any = None, line: int | None = None) -> Verdict:
        line = self.lineno if line is None else line
        where = f"line {line}{f' (seq {seq})' if seq is not None else ''}"
        return Verdict(TAMPERED, f"{where}: {message}", self.records, self.runs, line=line, seq=seq)

    def feed(self, raw: bytes) -> Verdict | None:
        self.lineno += 1
        if not raw.endswith(b"\n"):
            # the last line of the file, cut short: a writer died mid-record (judged in finish())
            self.partial = len(raw)
            return None
        parsed = parse_line(raw[:-1])
        if parsed is None:
            if self.fragment is not None:
                return self.bad("is not a valid record (malformed or edited)", line=self.fragment.line)
            self.fragment = _Fragment(self.lineno, self.offset, raw[:-1])
            self.offset += len(raw)
            return None
        self.offset += len(raw)
        verdict = self._integrity(parsed) or self._truncation(parsed) or self._order(parsed) or self._run(parsed)
        if verdict is not None:
            return verdict
        self.records += 1
        self.prev = parsed.hash
        self.expected_seq = parsed.fields["seq"] + 1
        if parsed.hash == self.expect_hash:
            self.expected_seen_at = self.records
        return None

    def _integrity(self, parsed: Parsed) -> Verdict | None:
        """The record is what its writer wrote: its hash (and HMAC, with a key) match its body."""
        seq = parsed.fields.get("seq")
        if hashlib.sha256(parsed.body).hexdigest() != parsed.hash:
            return self.bad("record was modified (its hash does not match its content)", seq)
        if self.mac_base is not None:
            if parsed.mac is None:
                return self.bad("record has no HMAC: forged, or written without the key", seq)
            check = self.mac_base.copy()
            check.update(parsed.body)
            if not hmac.compare_digest(check.hexdigest(), parsed.mac):
                return self.bad("HMAC does not match: record forged, or the wrong key was given", seq)
        elif parsed.mac is None:
            self.no_mac += 1
        if parsed.sig is not None:
            self.signed += 1
            if self.verifier is not None and not self.verifier.verify(parsed.body, parsed.sig):
                return self.bad(self._sig_problem(parsed), seq)
        return None

    def _sig_problem(self, parsed: Parsed) -> str:
        data = parsed.fields.get("data")
        signature = data.get("signature") if isinstance(data, dict) else None
        kid = signature.get("key_id") if isinstance(signature, dict) else None
        if self.verifier is not None and isinstance(kid, str) and kid != self.verifier.key_id:
            return f"signed with another key (key id {kid[:16]}...), not the public key given: forged, or the wrong key"
        return "signature does not verify with the public key given: record forged or altered"

    def _truncation(self, parsed: Parsed) -> Verdict | None:
        """A partial line is accepted only when the next record is a truncation naming it exactly."""
        fields = parsed.fields
        fragment = self.fragment
        if fragment is not None:
            data = fields.get("data") or {}
            if (
                fields.get("type") != TRUNCATION
                or data.get("bytes") != len(fragment.data)
                or data.get("offset") != fragment.offset
                or data.get("sha256") != hashlib.sha256(fragment.data).hexdigest()
            ):
                return self.bad("is not a valid record (malformed or edited)", line=fragment.line)
        elif fields.get("type") == TRUNCATION:
            return self.bad("truncation record without a truncated line before it", fields.get("seq"))
        return None

    def _order(self, parsed: Parsed) -> Verdict | None:
        """seq follows on, prev is the hash before, the format version is known."""
        fields = parsed.fields
        seq = fields.get("seq")
        expected = self.expected_seq
        if not isinstance(seq, int) or isinstance(seq, bool):
            return self.bad("record has no sequence number", seq)
        if seq > expected:
            return self.bad(
                f"sequence jumps from {expected - 1} to {seq}: {seq - expected} record(s) "
                "deleted (or reordered) before this line",
                seq,
            )
        if seq < expected:
            return self.bad(
                f"sequence goes back to {seq} after {expected - 1}: record inserted, duplicated or reordered", seq
            )
        if fields.get("prev") != self.prev:
            return self.bad(
                "chain broken: prev is not the hash of the record before (inserted, deleted or replaced)", seq
            )
        if fields.get("v") != VERSION:
            return self.bad(f"unknown record format version {fields.get('v')!r}", seq)
        return None

    def _run(self, parsed: Parsed) -> Verdict | None:
        """Records sit inside their run: run-start ... run-end, one run id, a run-end that adds up."""
        fields = parsed.fields
        seq, rtype, run = fields["seq"], fields.get("type"), fields.get("run")
        if rtype == RUN_START:
            if self.open_run is not None:
                self.incomplete_runs.append((self.open_run, self.open_line))
            self.open_run, self.open_line = run, self.lineno
            self.runs += 1
        elif rtype == TRUNCATION:
            self.fragment = None
        elif rtype not in RECORD_TYPES:
            return self.bad(f"unknown record type {rtype!r}", seq)
        elif self.open_run is None:
            what = "after run-end" if self.runs else "before any run-start"
            return self.bad(f"{rtype} record {what}: records deleted or appended", seq)
        elif run != self.open_run:
            return self.bad(f"record belongs to run {run!r}, not {self.open_run!r}: spliced from another log", seq)
        if rtype == RUN_END:
            data = fields.get("data") or {}
            if data.get("count") != seq + 1 or data.get("chain_head") != self.prev:
                return self.bad("run-end count or chain head does not match the records before it", seq)
            if self.verifier is not None and parsed.sig is None:
                return self.bad("run-end is not signed: forged, or written without the signing key", seq)
            self.open_run = None
            self.run_end, self.run_end_line = data, self.lineno
        return None

    def _notes(self) -> list[str]:
        notes = []
        if self.key is None and self.no_mac < self.records:
            notes.append("HMAC present but not checked: no key given")
        if self.verifier is None and self.signed:
            notes.append("signature present but not checked: no public key given")
        return notes

    def finish(self) -> Verdict:
        """The verdict once every line was read and none was bad."""
        if self.fragment is not None:
            return self.bad("is not a valid record (malformed or edited)", line=self.fragment.line)
        if self.records == 0 and not self.partial:
            return Verdict(
                INCOMPLETE, "the log holds no record (no run-start)", 0, 0, line=1, seq=0, final_hash=GENESIS
            )
        if self.open_run is not None:
            self.incomplete_runs.append((self.open_run, self.open_line))
        if self.partial or self.incomplete_runs:
            return self._cut_short() or self._incomplete()
        mismatch = self._against_manifest()
        if mismatch is not None:
            return mismatch
        notes = self._notes()
        if self.key is not None:
            notes.insert(0, "HMAC verified")
        if self.verifier is not None:
            notes.insert(0, f"{self.signed} run-end signature(s) verified")
        return Verdict(
            OK,
            f"{self.records} records, {self.runs} run(s), chain intact, final hash {self.prev}",
            self.records,
            self.runs,
            final_hash=self.prev,
            notes=notes,
            run_end=self.run_end,
            run_end_line=self.run_end_line,
        )

    def _incomplete(self) -> Verdict:
        """A run without run-end, or a last line cut short: the run was killed (or is still going)."""
        if self.partial:
            where = f"line {self.lineno} is a partial record of {self.partial} bytes (truncated)"
            message = f"{where}; all {self.records} complete records before it verify"
            line, seq = self.lineno, self.expected_seq
        else:
            run_id, start = self.incomplete_runs[-1]
            message = (
                f"run {run_id} (run-start at line {start}) has no run-end: the run was killed or is still going; "
                f"all {self.records} records verify"
            )
            line, seq = self.lineno + 1, self.expected_seq
        notes = [] if self.partial else self._notes()
        return Verdict(
            INCOMPLETE, message, self.records, self.runs, line=line, seq=seq, final_hash=self.prev, notes=notes
        )

    def _cut_short(self) -> Verdict | None:
        """A log without its last run-end while manifest.json says that run-end was written: tampered.

        The manifest repeats the final hash and count only once run-end is on disk, so a killed run
        never has them: a log that no longer holds the run-end they name was cut, not killed.
        """
        expected, records = self.expect_records, self.records
        if expected is not None and records < expected:
            return Verdict(
                TAMPERED,
                f"the log holds {records} complete records but {self.source} says its run ended at record "
                f"{expected} (hash {str(self.expect_hash)[:16]}...): records were removed from its end, "
                "run-end included",
                records,
                self.runs,
                line=self.lineno,
                seq=self.expected_seq,
                final_hash=self.prev,
            )
        seen = self.expected_seen_at
        if self.expect_hash is not None and (seen is None or (expected is not None and seen != expected)):
            return Verdict(
                TAMPERED,
                f"{self.source} says the run ended with hash {self.expect_hash[:16]}..., which no record of "
                f"the log has at that place: the log was cut or rewritten, or {self._what} replaced",
                records,
                self.runs,
                line=self.lineno,
                seq=self.expected_seq,
                final_hash=self.prev,
            )
        return None

    @property
    def _what(self) -> str:
        return "the manifest" if self.source == "manifest.json" else self.source.split(" (", 1)[0]

    def _against_manifest(self) -> Verdict | None:
        prev, records = self.prev, self.records
        if self.expect_hash is not None and self.expect_hash != prev:
            message = (
                f"the log ends with hash {prev[:16]}... but {self._what} records {str(self.expect_hash)[:16]}...: "
                f"records added or removed after run-end, or {self._what} replaced"
            )
        elif self.expect_records is not None and self.expect_records != records:
            message = f"the log holds {records} records but {self._what} records {self.expect_records}"
        else:
            return None
        return Verdict(
            TAMPERED, message, records, self.runs, line=self.lineno, seq=self.expected_seq - 1, final_hash=prev
        )


def verify(
    path: PathLike,
    key: bytes | None = None,
    expected_final_hash: str | None = None,
    expected_records: int | None = None,
    *,
    verifier: Verifier | None = None,
    expected_from: str = "manifest.json",
) -> Verdict:
    """Check a whole log; return a :class:`Verdict` naming the first bad record.

    ``key``: check every record's HMAC (a record without one, or with a wrong one, is forged).
    ``verifier``: an Ed25519 public key (``audit_sign.load_verifier``): every run-end must carry a
    signature that verifies with it.
    ``expected_final_hash`` / ``expected_records``: what the manifest repeats of the last run-end;
    a complete log must end there, and a log without run-end is tampered (cut), not incomplete,
    when it no longer holds that run-end.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, the loop is long
    except OSError as exc:
        raise AuditChainError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        return verify_lines(
            handle, key, expected_final_hash, expected_records, verifier=verifier, expected_from=expected_from
        )


def verify_lines(
    lines: Iterable[bytes],
    key: bytes | None = None,
    expected_final_hash: str | None = None,
    expected_records: int | None = None,
    *,
    verifier: Verifier | None = None,
    expected_from: str = "manifest.json",
) -> Verdict:
    """:func:`verify` over the lines of a log from anywhere (a file, or rebuilt from a job's events).
    ``expected_from`` names where the expected final hash and count come from, in the verdict."""
    chain = _Chain(key, verifier, expected_final_hash, expected_records, expected_from)
    for raw in lines:
        verdict = chain.feed(raw)
        if verdict is not None:
            return verdict
    return chain.finish()
