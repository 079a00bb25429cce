"""Who holds a lease or a claim (the outbox relay's aggregates, a periodic job's period, a running
import): one name per holder, made the same way everywhere."""

from __future__ import annotations

import os
import uuid


def new_owner() -> str:
    """Host, process id and a random part: readable in the database, and never shared by two
    holders, not even two in one process."""
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
