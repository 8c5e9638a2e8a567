from __future__ import annotations

import sys

from ripreplace.cli import main

sys.exit(main())
