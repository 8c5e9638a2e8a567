"""Sub-commands of the ``ripreplace`` CLI; each module has ``register(subparsers)``."""
