# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)
"""Privacy and bounds for the audit log: what a record may hold (docs/audit-log.md, *Privacy*)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

#: Field names whose values are never written (matched case-insensitively anywhere in the name).
SECRET_NAME = re.compile(r"pass(?:word|wd|phrase)|secret|token|key|credential", re.IGNORECASE)
REDACTED_SECRET = "<redacted: secret-named field>"  # noqa: S105 - the marker, not a password
REDACTED_NO_LOG = "<redacted: no_log>"
REDACTED_EXTRA_VAR = "<redacted: extra var>"
TRUNCATED_DEEP = "<truncated: too deep or too large>"


class _State:
    """What one :meth:`Redactor.clean` call has left: its size budget and the paths it redacted."""

    __slots__ = ("budget", "redacted")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.redacted: list[str] = []


class Redactor:
    """Make arbitrary data safe and bounded for the log.

    - values under a key named like password/passwd/passphrase/secret/token/key/credential
      (case-insensitive, at any depth) become :data:`REDACTED_SECRET`;
    - any occurrence of a scrubbed value (the run's extra vars) inside a string becomes
      :data:`REDACTED_EXTRA_VAR`;
    - strings, lists and depth are truncated, with a marker saying how much was left out;
    - anything not JSON (sets, bytes, objects, NaN) becomes JSON.

    :meth:`clean` returns ``(clean_data, redacted)``; ``redacted`` lists the paths left out, so the
    record can say what is missing.
    """

    def __init__(
        self,
        *,
        scrub_values: Iterable[Any] = (),
        max_string: int = 2048,
        max_items: int = 100,
        max_depth: int = 8,
        budget: int = 65536,
        min_scrub: int = 6,
    ) -> None:
        self.max_string = max_string
        self.max_items = max_items
        self.max_depth = max_depth
        self.budget = budget
        self.min_scrub = min_scrub
        self._scrub: re.Pattern[str] | None = None
        self._keys: dict[str, tuple[str, bool]] = {}
        self.set_scrub_values(scrub_values)

    def set_scrub_values(self, values: Iterable[Any]) -> None:
        strings = sorted({v for v in values if isinstance(v, str) and len(v) >= self.min_scrub}, key=len, reverse=True)
        self._scrub = re.compile("|".join(re.escape(v) for v in strings)) if strings else None

    @staticmethod
    def scrub_values_from(data: Any) -> list[str]:
        """Collect every scalar value of ``data`` (nested), as strings, for :meth:`set_scrub_values`."""
        out: list[str] = []
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, (list, tuple, set, frozenset)):
                stack.extend(item)
            elif isinstance(item, bool) or item is None:
                continue
            elif isinstance(item, (str, int, float)):
                out.append(str(item))
        return out

    def clean(self, data: Any, path: str = "", exempt: Iterable[str] = ()) -> tuple[Any, list[str]]:
        state = _State(self.budget)
        return self._clean(data, path, 0, state, frozenset(exempt)), state.redacted

    def _string(self, value: str, path: str, state: _State) -> str:
        if self._scrub is not None and self._scrub.search(value):
            value = self._scrub.sub(REDACTED_EXTRA_VAR, value)
            state.redacted.append(f"{path or '.'}: extra var value")
        size = len(value)
        if size > 64 and size > min(self.max_string, state.budget):
            limit = max(min(self.max_string, state.budget), 64)
            value = f"{value[:limit]}...<truncated {size - limit} chars>"
            size = len(value)
        state.budget -= size
        if not value.isascii():
            # lone surrogates cannot be UTF-8 encoded: replace them so the line is always valid UTF-8
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                value = value.encode("utf-8", "replace").decode("utf-8")
        return value

    def _key(self, key: Any, path: str, state: _State) -> tuple[str, bool]:
        """(clean key, is secret-named) with a cache: the same few keys come back all the time."""
        if not isinstance(key, str):
            key = str(key)
        hit = self._keys.get(key)
        if hit is None:
            if len(self._keys) > 4096:
                self._keys.clear()
            clean = key if key.isascii() and len(key) <= 256 else self._string(key, path, _State(256))
            hit = self._keys[key] = (clean, bool(SECRET_NAME.search(clean)))
        if self._scrub is not None and self._scrub.search(hit[0]):
            return self._string(hit[0], path, state), hit[1]
        return hit

    def _clean(self, obj: Any, path: str, depth: int, state: _State, exempt: frozenset[str]) -> Any:  # noqa: PLR0911 - one return per kind of value
        kind = type(obj)
        if kind is str:
            return self._string(obj, path, state)
        if obj is None or kind is bool or kind is int:
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else str(obj)
        if isinstance(obj, str):
            return self._string(str(obj), path, state)
        if isinstance(obj, bool):
            return bool(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return self._clean(float(obj), path, depth, state, exempt)
        if isinstance(obj, (bytes, bytearray)):
            return self._string(bytes(obj).decode("utf-8", "replace"), path, state)
        if depth >= self.max_depth or state.budget <= 0:
            return TRUNCATED_DEEP
        if isinstance(obj, dict):
            return self._dict(obj, path, depth, state, exempt)
        if isinstance(obj, (list, tuple, set, frozenset)):
            items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else list(obj)
            out = [
                self._clean(v, f"{path}[{i}]", depth + 1, state, exempt) for i, v in enumerate(items[: self.max_items])
            ]
            if len(items) > self.max_items:
                out.append(f"<truncated {len(items) - self.max_items} more items>")
            return out
        return self._string(str(obj), path, state)

    def _dict(
        self, obj: dict[Any, Any], path: str, depth: int, state: _State, exempt: frozenset[str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for count, (key, value) in enumerate(obj.items()):
            if count >= self.max_items * 10:
                out["<truncated>"] = f"{len(obj) - count} more keys"
                break
            skey, secret = self._key(key, path, state)
            child = f"{path}.{skey}" if path else skey
            if secret and not _exempt(path, exempt):
                out[skey] = REDACTED_SECRET
                state.redacted.append(f"{child}: secret-named field")
                continue
            out[skey] = self._clean(value, child, depth + 1, state, exempt)
        return out


def _exempt(path: str, exempt: frozenset[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + ".") for prefix in exempt)
