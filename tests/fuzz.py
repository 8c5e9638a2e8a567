# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the fuzz suite (``tests/fuzzing/test_fuzz_*.py``, marker ``fuzz``).

Every input parser of ripreplace is fed generated input through its public entry point and must end
in one of the ways the contract allows: success, or one line on stderr with exit 2 (6 for an audit
log that fails verification), never a traceback, never a hang.

Inputs are structure-aware: a valid seed document mutated a few times (a value replaced by another
of any JSON/YAML type, a key dropped, a string swapped for a hostile one), serialized and then
perhaps damaged as bytes (truncated, a byte flipped, an invalid UTF-8 sequence spliced in), plus a
fixed list of known-hostile files (alias bombs, recursive aliases, nesting a thousand deep, NULs).

Bounded: :data:`FUZZ` runs :data:`EXAMPLES` examples a test (200 unless ``RIPREPLACE_FUZZ_EXAMPLES``
says otherwise), derandomized so CI sees the same inputs every run (``RIPREPLACE_FUZZ_RANDOM=1``
explores new ones), with a per-example deadline, and :func:`no_hang` stops an example that runs
longer than :data:`HANG_SECONDS` (SIGALRM) so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ripreplace import cli

EXAMPLES = int(os.environ.get("RIPREPLACE_FUZZ_EXAMPLES", "200"))
HANG_SECONDS = 20.0

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=dt.timedelta(seconds=5),  # generous: the machine running CI may be busy
    derandomize=os.environ.get("RIPREPLACE_FUZZ_RANDOM", "") == "",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)

#: For targets that cost tens of milliseconds an example (a command loading the bundled catalog).
FUZZ_CLI = settings(FUZZ, max_examples=max(1, EXAMPLES // 4))


class Hang(Exception):
    pass


@contextlib.contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Raise :class:`Hang` if the block runs longer than ``seconds`` (main thread, SIGALRM)."""

    def expire(_signum: int, _frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            signal.setitimer(signal.ITIMER_REAL, outer_delay, outer_interval)


def run_cli(argv: Sequence[str], allowed: Sequence[int] = (0, 2)) -> tuple[int, str, str]:
    """``cli.main(argv)`` with stdout and stderr captured; asserts the contract: an allowed exit code, no
    traceback, and for exit 2 (bad input) exactly one line on stderr. A verdict (exit 0 or 6) is the
    caller's to check: ``verify-log`` prints it on stdout, ``report`` says on stderr what it wrote."""
    out, err = io.StringIO(), io.StringIO()
    with no_hang(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    text = err.getvalue()
    assert "Traceback" not in text, text
    assert code in allowed, (code, text, out.getvalue()[-2000:])
    lines = text.splitlines()
    assert len(lines) == 1 if code == 2 else len(lines) <= 2, text
    assert all(line.isprintable() for line in lines), text
    return code, out.getvalue(), text


def one_line(message: str) -> None:
    """An error message meant for the operator: one line that prints as itself."""
    assert message and "\n" not in message and "Traceback" not in message, message


# --------------------------------------------------------------------------- values
HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "\x1b[2J\x1b[H",
    "a\u202eb",
    "\u200b",
    "\ufeff",
    "é日本\U0001f600",
    "x" * 5000,
    "../../etc/passwd",
    "/",
    "%s%n",
    "{{ lookup('pipe', 'id') }}",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30",
    "P99999999D",
    "PT0S",
    "1e999",
    "NaN",
    "-0",
    "١٢٣",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(HOSTILE_STRINGS)
    | st.dates()  # YAML writes these as dates, which loaders must take
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(HOSTILE_STRINGS)
)


def trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
        max_leaves=12,
    )


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for n, value in enumerate(doc):
            out.extend(_paths(value, (*prefix, n)))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@st.composite
def mutated(
    draw: st.DrawFn, seed: Any, leaves: st.SearchStrategy[Any], extra: st.SearchStrategy[Any] | None = None
) -> Any:
    """``seed`` with one to four mutations: a node replaced (by any value, or one from ``extra``), or
    a key or item removed."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete"] if path else ["replace"]))
        if action == "delete":
            doc = _set(doc, path, None, delete=True)
        else:
            pool = trees(leaves) if extra is None else (extra | trees(leaves))
            doc = _set(doc, path, draw(pool))
    return doc


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` damaged as bytes: truncated, a byte changed, or an invalid sequence spliced in."""
    if not data:
        return draw(st.binary(max_size=64))
    where = draw(st.integers(0, len(data)))
    kind = draw(st.sampled_from(["truncate", "flip", "splice"]))
    if kind == "truncate":
        return data[:where]
    if kind == "flip" and where < len(data):
        return data[:where] + bytes([draw(st.integers(0, 255))]) + data[where + 1 :]
    return (
        data[:where]
        + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b"\r", b"\x1b"]))
        + data[where:]
    )


def dump_yaml(doc: Any) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


def dump_json(doc: Any) -> bytes:
    return json.dumps(doc, default=str).encode("utf-8")


HOSTILE_YAML = [
    b"a: &a [*a]\n",
    b"a: &a {b: *a}\n",
    b'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    + b"".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n".encode() for p, n in zip("abcdefg", "bcdefgh", strict=True)
    ),
    b"x: " + b"[" * 1000 + b"]" * 1000 + b"\n",
    b"x: " + b"{a: " * 200 + b"1" + b"}" * 200 + b"\n",
    b"\x00\x01\x02",
    b"\xff\xfe\x00\x00",
    b"\xef\xbb\xbfformat: x\n",
    b"a: !!python/object/apply:os.system ['id']\n",
    b"a: !!binary AAAA\n",
    b"a: !!set {x, y}\n",
    b"? [a, b]\n: c\n",
    b"a: 1\na: 2\n",
    b"--- a\n--- b\n",
    b"%YAML 9.9\n---\na: 1\n",
    b"a: *nope\n",
    b"",
    b"~\n",
    b"- 1\n",
    b"12345\n",
]

HOSTILE_JSON = [
    b"[" * 3000,
    b"{" * 5000 + b"}" * 5000,
    b'{"a": ' * 3000 + b"1" + b"}" * 3000,
    b"1" * 5000,
    b'{"a": 1e999}',
    b'{"a": NaN, "b": -Infinity}',
    b'{"a": "\\ud800"}',
    b"\xff\xfe{}",
    b"",
    b"null",
    b'"x"',
    b"[]",
    b'{"": {}}',
]


def documents(
    seed: Any,
    dump: Callable[[Any], bytes],
    leaves: st.SearchStrategy[Any],
    hostile: list[bytes],
    extra: st.SearchStrategy[Any] | None = None,
) -> st.SearchStrategy[bytes]:
    """Bytes of a file a parser of ``seed``-shaped documents may be handed."""
    mutants = mutated(seed, leaves, extra).map(dump)
    return st.one_of(
        mutants,
        mutants.flatmap(damaged),
        st.just(dump(seed)).flatmap(damaged),
        st.sampled_from(hostile),
        st.binary(max_size=300),
    )
