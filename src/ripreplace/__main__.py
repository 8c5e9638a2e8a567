# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import sys

from ripreplace.cli import main

sys.exit(main())
