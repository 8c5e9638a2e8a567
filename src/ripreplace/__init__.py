"""ripreplace: take FCC Covered List software out of real fleets with Ansible."""

from __future__ import annotations

__version__ = "0.1.0"
