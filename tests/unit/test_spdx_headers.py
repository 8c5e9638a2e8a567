# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Every source file carries the SPDX license identifier and the copyright line (tests/publish/spdx.py)."""

from __future__ import annotations

import jinja2
from tests.publish import spdx


def test_every_source_file_has_the_header():
    missing = [str(p.relative_to(spdx.ROOT)) for p in spdx.source_files() if not spdx.has_header(p)]
    assert missing == [], "python tests/publish/spdx.py --fix adds it"


def test_fix_keeps_the_shebang_first_and_replaces_the_old_notice(tmp_path):
    module = tmp_path / "mod.py"
    module.write_text("#!/usr/bin/python\n" + "".join(spdx.OLD_NOTICE) + '"""Doc."""\n')
    assert spdx.with_header(module).splitlines() == [
        "#!/usr/bin/python",
        f"# {spdx.COPYRIGHT}",
        f"# {spdx.SPDX}",
        '"""Doc."""',
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text("---\n- hosts: all\n")
    assert spdx.with_header(playbook).startswith(f"# {spdx.COPYRIGHT}\n# {spdx.SPDX}\n---\n")


def test_jinja_header_renders_nothing(tmp_path):
    template = tmp_path / "x.conf.j2"
    template.write_text("  indented {{ value }}\nline two\n")
    # trim_blocks: Ansible's template module's default and the report renderer's setting.
    for options in ({"trim_blocks": True}, {"trim_blocks": True, "lstrip_blocks": True}):
        env = jinja2.Environment(keep_trailing_newline=True, **options)
        plain = env.from_string(template.read_text()).render(value=1)
        headed = env.from_string(spdx.with_header(template)).render(value=1)
        assert headed == plain, options
