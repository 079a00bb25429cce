"""Real Kafka and FerretDB as local processes for development, tests and the demo (no Docker)."""

from roadbranch_shared.devstack.stack import Stack, StackInfo

__all__ = ["Stack", "StackInfo"]
