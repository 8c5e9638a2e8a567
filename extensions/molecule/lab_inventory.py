#!/usr/bin/env python3
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Molecule inventory for ripreplace's lab driver.

Prints, as an Ansible dynamic inventory, the inventory that ``ripreplace lab up`` wrote into
``$RIPREPLACE_MOLECULE_LAB_DIR/inventory.yml``, or an empty inventory before the lab exists
(molecule reads its inventory before ``create`` runs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys


def main() -> int:
    if "--host" in sys.argv:
        print("{}")
        return 0
    lab_dir = os.environ.get("RIPREPLACE_MOLECULE_LAB_DIR", "")
    path = os.path.join(lab_dir, "inventory.yml")
    if not lab_dir or not os.path.isfile(path):
        print(json.dumps({"_meta": {"hostvars": {}}}))
        return 0
    tool = shutil.which("ansible-inventory") or os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    listing = subprocess.run([tool, "-i", path, "--list"], capture_output=True, text=True, check=True)
    sys.stdout.write(listing.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
