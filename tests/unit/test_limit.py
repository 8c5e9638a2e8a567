# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""--limit means exactly what was asked: Ansible's splitting, every part matches a host, broken syntax refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests import collection_code

from ripreplace import inventory
from ripreplace.exceptions import InputFileError, UsageError

INVENTORY = """\
all:
  children:
    site_a:
      children:
        web:
          hosts:
            light1: {}
            light2: {}
    db:
      hosts:
        sys1: {}
    empty: {}
"""


@pytest.fixture(scope="module")
def inv_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inv") / "inv.yml"
    path.write_text(INVENTORY)
    return path


@pytest.fixture(scope="module")
def manager(inv_path: Path):
    """Ansible's InventoryManager over the same inventory, in-process (what the probe runs)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    collection_code.init_ansible()  # once a process, with this checkout's collection (see tests/collection_code.py)
    return lambda: InventoryManager(loader=DataLoader(), sources=[str(inv_path)])


# --------------------------------------------------------------------------- syntax, before any inventory
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "--limit '' is empty"),
        (" ", "--limit ' ' is empty"),
        ("\t", "--limit '\\t' is empty"),
        (",", "has an empty part (part 1 of 2"),
        ("web,", "has an empty part (part 2 of 2"),
        ("web,,db", "has an empty part (part 2 of 3"),
        (" , web", "has an empty part (part 1 of 2"),
        ("[", "--limit '[' is not a host pattern (unbalanced brackets)"),
        ("[[[", "--limit '[[[' is not a host pattern (unbalanced brackets)"),
        ("]", "is not a host pattern (unbalanced brackets)"),
        (":", "--limit ':' is not a host pattern"),
        ("web]", "has an unbalanced '[' or ']'"),
        ("web[1", "has an unbalanced '[' or ']'"),
        ("web:", "has an empty part (a ':' at an end"),
        (":web", "has an empty part (a ':' at an end"),
        ("web::db:", "has an empty part"),
        ("web,db[1", "part 'db[1' has a '[' without its ']'"),
        ("web,db]", "part 'db]' has a ']' without its '['"),
        ("web,a[[1]]", "part 'a[[1]]' has a '[' inside brackets"),
        ("web[3:1]", "has the range [3:1], whose end comes before its start"),
        ("web[1-3]", "uses [1-3]: Ansible reads it as a host subscript, not a glob; write [1:3]"),
        ("web[:3]", "has [:3], which is not a subscript"),
        ("web,db[1:2:3]", "has [1:2:3], which is not a subscript"),
        ("web,db[]", "has empty brackets []"),
        ("web,[1]", "is a subscript [1] with no pattern before it"),
        ("~(", "part '~(' is not a valid regular expression: missing ), unterminated subpattern"),
        ("web,~[a-", "is not a valid regular expression"),
        ("web,~", "part '~' is an empty regular expression"),
        ("!", "part '!' has no pattern after '!'"),
        ("web,&", "part '&' has no pattern after '&'"),
        ("web,!@hosts.txt", "puts '!' before an @file"),
        ("web\u202e", "contains a control or invisible character (U+202E at position 4)"),
        ("web,\x1b[2J", "contains a control or invisible character (U+001B at position 5)"),
        ("we\u200bb", "U+200B at position 3"),
        ("@", "has '@' without a file name after it"),
        ("@/nonexistent/hosts.txt", "reads hosts from '/nonexistent/hosts.txt': no such file"),
        ("@/", "reads hosts from '/': not a regular file"),
    ],
)
def test_broken_patterns_are_refused_naming_the_part(text, words):
    with pytest.raises(UsageError) as info:
        inventory.limit_parts(text)
    message = str(info.value)
    assert words in message and message.startswith("--limit ") and "\n" not in message


@pytest.mark.parametrize(
    "text",
    [
        "web",
        "web,db",
        " web , db ",
        "web:db",
        "web:&site_a:!light1",
        "light1 light2",
        "web[0]",
        "web[-1]",
        "web[0:1]",
        "web[1:]",
        "web[0:1]:db",
        "web*",
        "light?",
        "light[12]*",
        "~light\\d",
        "~(light|sys)1",
        "!db,web",
        "&site_a",
        "::1",
        "10.0.0.1",
        "web:22",
        "a::b",
        "web,a:b",
    ],
)
def test_valid_patterns_split_as_ansible_splits_them(text):
    from ansible.inventory.manager import split_host_pattern

    assert [p.text for p in inventory.limit_parts(text)] == split_host_pattern(text)


def test_an_at_file_gives_one_part_per_line(tmp_path):
    hosts = tmp_path / "retry.txt"
    hosts.write_text("light1\n\n  sys1  \n!light2\n")
    parts = inventory.limit_parts(f"web,@{hosts}")
    assert [(p.text, p.origin) for p in parts] == [
        ("web", ""),
        ("light1", f"@{hosts} line 1"),
        ("sys1", f"@{hosts} line 3"),
        ("!light2", f"@{hosts} line 4"),
    ]
    bad = tmp_path / "bad.txt"
    bad.write_text("light1\nweb[\n")
    with pytest.raises(UsageError, match=r"part 'web\[' \(@.*bad.txt line 2\) has a '\[' without its '\]'"):
        inventory.limit_parts(f"@{bad}")
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(UsageError, match=r"empty.txt', which names none"):
        inventory.limit_parts(f"@{tmp_path / 'empty.txt'}")
    (tmp_path / "bin.txt").write_bytes(b"light1\n\xff\n")
    with pytest.raises(UsageError, match=r"not UTF-8 text \(byte 0xff at 7\)"):
        inventory.limit_parts(f"@{tmp_path / 'bin.txt'}")


# --------------------------------------------------------------------------- Ansible's matching
def test_the_probe_counts_each_part_with_ansibles_matching(manager):
    from ripreplace.inventory_probe import evaluate

    answer = evaluate(
        manager(), ["web", "ligth2", "!db", "&site_a", "localhost", "web[1]", "~light\\d", "empty", "!!web"], None
    )
    # an empty group matches no host; the implicit localhost is no inventory host; '!!web' is the literal '!web'
    assert answer["matches"] == [2, 0, 1, 2, 0, 1, 2, 0, 0]
    assert answer["groups"]["light1"] == ["all", "site_a", "web"] and set(answer["groups"]) == {
        "light1",
        "light2",
        "sys1",
    }


def test_the_probe_selects_as_limit_does(manager):
    from ripreplace.inventory_probe import evaluate

    assert set(evaluate(manager(), [], "web,!light1")["groups"]) == {"light2"}
    assert set(evaluate(manager(), [], "site_a:&web:db")["groups"]) == {"light1", "light2"}
    assert evaluate(manager(), ["web[5]"], None)["error"] == {
        "index": 0,
        "message": "No hosts matched the subscripted pattern 'web[5]'",
    }


# --------------------------------------------------------------------------- load_inventory
@pytest.fixture
def in_process(manager, monkeypatch):
    """load_inventory with the probe's evaluate() run in this process (one real probe process is
    tested below): the same Ansible code, without a second of interpreter start per case."""
    from ripreplace.inventory_probe import evaluate

    monkeypatch.setattr(inventory, "_probe", lambda _path, patterns, limit: evaluate(manager(), patterns, limit))


def test_a_typo_in_one_part_is_refused_naming_it(inv_path):
    with pytest.raises(UsageError) as info:
        inventory.load_inventory(inv_path, "light1,ligth2")
    assert str(info.value) == (
        f"--limit 'light1,ligth2': 'ligth2' matches no host in {inv_path} (did you mean 'light2'?)"
    )


@pytest.mark.parametrize(
    ("limit", "hosts"),
    [
        (None, ("light1", "light2", "sys1")),
        ("web", ("light1", "light2")),
        ("site_a:!light2", ("light1",)),
        ("light*,&web,sys1", ("light1", "light2")),
        ("web[0]", ("light1",)),
    ],
)
def test_limits_select_what_ansible_selects(in_process, inv_path, limit, hosts):
    result = inventory.load_inventory(inv_path, limit)
    assert result.hosts == hosts
    assert result.groups[hosts[0]] >= {"all"}


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ("[", "--limit '[' is not a host pattern"),
        ("web,!nosuch", "--limit 'web,!nosuch': '!nosuch' matches no host in"),
        ("web,&empty", "'&empty' matches no host"),
        ("web,!web", "--limit 'web,!web' matches no host in"),
        ("web[7]", "Ansible refuses 'web[7]': No hosts matched the subscripted pattern 'web[7]'"),
        ("localhost", "--limit 'localhost' matches no host in"),
    ],
)
def test_limits_that_select_wrongly_are_refused(in_process, inv_path, limit, words):
    with pytest.raises(UsageError) as info:
        inventory.load_inventory(inv_path, limit)
    assert words in str(info.value)


def test_the_groups_of_the_selected_hosts_include_ancestors(inv_path, tmp_path):
    hosts = tmp_path / "batch.hosts"
    hosts.write_text("light2\nsys1\n")
    result = inventory.load_inventory(inv_path, f"@{hosts}")
    assert result.hosts == ("light2", "sys1")
    assert result.groups == {"light2": frozenset({"all", "site_a", "web"}), "sys1": frozenset({"all", "db"})}


def test_inventory_errors(tmp_path):
    with pytest.raises(InputFileError, match=r"missing.yml: inventory not found"):
        inventory.load_inventory(tmp_path / "missing.yml", None)
    bad = tmp_path / "bad.yml"
    bad.write_text("all: [unclosed\n")
    with pytest.raises(InputFileError, match=r"bad.yml: cannot parse inventory"):
        inventory.load_inventory(bad, None)
    empty = tmp_path / "empty.yml"
    empty.write_text("all: {}\n")
    with pytest.raises(InputFileError, match=r"empty.yml: the inventory has no hosts"):
        inventory.load_inventory(empty, None)
