# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Privacy and bounds for the audit log: what a record may hold (docs/audit-log.md, *Privacy*)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Field names whose values are never written (matched case-insensitively anywhere in the name) ...
SECRET_NAME = re.compile(r"pass(?:word|wd|phrase)|(?:^|_)pass(?:_|$)|secret|token|key|credential", re.IGNORECASE)
#: ... unless the whole name says it is no secret: where a secret lives (a file, a path, a URL), a
#: switch, a public key or a key's identity, or a word that only contains "key".
NOT_SECRET_NAME = re.compile(
    r".*_(?:file|files|path|paths|dir|url|ext|checking)"
    r"|(?:.*_)?(?:public|pub|host|repo|apt|gpg)_?keys?"
    r"|(?:.*_)?key_?(?:id|ids|fingerprint|fingerprints|type|size|name|names|ring|rings|ext)"
    r"|keys?|keyrings?|monkeys?|keyboards?|keywords?|hotkeys?|sort_keys|token_type",
    re.IGNORECASE,
)
REDACTED_SECRET = "<redacted: secret-named field>"  # noqa: S105 - the marker, not a password
REDACTED_NO_LOG = "<redacted: no_log>"
REDACTED_VALUE = "<redacted: secret value>"
TRUNCATED_DEEP = "<truncated: too deep or too large>"
#: Variables a site declares secret (a list of variable names, in inventory, play or extra vars).
DECLARED_SECRETS_VAR = "ripreplace_secret_vars"


def is_secret_name(name: str) -> bool:
    """True for a field or variable name whose value is never written (see docs/audit-log.md, *Privacy*)."""
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET_NAME.fullmatch(name)


class _State:
    """What one :meth:`Redactor.clean` call has left: its size budget and the paths it redacted."""

    __slots__ = ("budget", "redacted")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.redacted: list[str] = []


class Redactor:
    """Make arbitrary data safe and bounded for the log.

    - values under a key named like password/passwd/passphrase/secret/token/key/credential
      (case-insensitive, at any depth; :func:`is_secret_name`) become :data:`REDACTED_SECRET`;
    - any occurrence of a known secret value (vault values, values of secret-named and
      site-declared variables: :meth:`set_scrub_values`) inside a string becomes :data:`REDACTED_VALUE`;
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
        self._values: set[str] = set()
        self._keys: dict[str, tuple[str, bool]] = {}
        self.set_scrub_values(scrub_values)

    def set_scrub_values(self, values: Iterable[Any]) -> None:
        """Replace the secret values scrubbed from every string (those shorter than ``min_scrub`` are not)."""
        self._values = {v for v in values if isinstance(v, str) and len(v) >= self.min_scrub}
        self._compile()

    def add_scrub_values(self, values: Iterable[Any]) -> bool:
        """Add secret values to scrub; True when there was a new one."""
        new = {v for v in values if isinstance(v, str) and len(v) >= self.min_scrub} - self._values
        if not new:
            return False
        self._values |= new
        self._compile()
        return True

    def _compile(self) -> None:
        strings = sorted(self._values, key=len, reverse=True)
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
            value = self._scrub.sub(REDACTED_VALUE, value)
            state.redacted.append(f"{path or '.'}: secret value")
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
            hit = self._keys[key] = (clean, is_secret_name(clean))
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


#: Types of vault-encrypted values (ansible-core 2.19+ and older); their ``str()`` is the plaintext.
_VAULT_TYPES = frozenset({"EncryptedString", "AnsibleVaultEncryptedUnicode"})
#: Variables that are not the site's own (facts, magic variables): not searched for secrets.
_NOT_SITE_VARS = frozenset(
    {"ansible_facts", "hostvars", "vars", "groups", "group_names", "omit", "ansible_local", DECLARED_SECRETS_VAR}
)


def _vault_plaintext(value: Any) -> str | None:
    if type(value).__name__ not in _VAULT_TYPES:
        return None
    try:
        return str(value)
    except Exception:  # no vault secret for it: nothing this run can leak either
        return None


def declared_secrets(variables: Mapping[str, Any]) -> set[str]:
    """Names listed in ``ripreplace_secret_vars`` (a list of variable names, or one name)."""
    declared = variables.get(DECLARED_SECRETS_VAR)
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, (list, tuple, set)):
        return {str(name) for name in declared if isinstance(name, str)}
    return set()


def secret_values(variables: Mapping[str, Any], declared: Iterable[str] = (), budget: int = 20000) -> set[str]:
    """The values of ``variables`` that must never be written, wherever they would appear.

    Vault-encrypted values at any depth (decrypted), and every scalar under a secret-named variable
    or key (:func:`is_secret_name`) or a variable named in ``declared`` / ``ripreplace_secret_vars``.
    Facts and magic variables are skipped; at most ``budget`` values are visited.
    """
    names = set(declared) | declared_secrets(variables)
    stack: list[tuple[Any, bool]] = [
        (value, name in names or is_secret_name(name))
        for name, value in variables.items()
        if isinstance(name, str) and name not in _NOT_SITE_VARS and not name.startswith("ansible_facts")
    ]
    out: set[str] = set()
    while stack and budget > 0:
        budget -= 1
        value, secret = stack.pop()
        plain = _vault_plaintext(value)
        if plain is not None:
            out.add(plain)
        elif isinstance(value, Mapping):
            stack.extend((v, secret or (isinstance(k, str) and is_secret_name(k))) for k, v in value.items())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend((v, secret) for v in value)
        elif secret and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            out.add(str(value))
    return out


def _exempt(path: str, exempt: frozenset[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + ".") for prefix in exempt)
