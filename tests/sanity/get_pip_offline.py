# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host outside the registries this project may reach; it
documents saving the script by hand to ``~/.ansible/test/cache/get_pip_<version>.py`` instead.
``make sanity`` saves this file there. It does what get-pip.py does: put pip into the empty
virtualenv (from the interpreter's bundled wheel, via ensurepip), then install the requested
packages (pip==<version>, ...) from the package index.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")
#: ansible-test runs this with pip's own configuration hidden; keep the machine's CA bundle.
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def main() -> int:
    ensurepip.bootstrap(upgrade=True)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    bundle = os.environ.get("PIP_CERT") or next((b for b in CA_BUNDLES if os.path.isfile(b)), None)
    if bundle:
        args = ["--cert", bundle, *args]
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    sys.exit(main())
