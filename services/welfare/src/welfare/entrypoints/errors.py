"""What welfare's routes share: the roles, who acted, and stored documents without their bookkeeping
(outbox, version) on the way out. A refused command is answered by `roadbranch_shared.domain.run_command`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.domain import run_command

INTERNAL_FIELDS = frozenset({"outbox", "outbox_lease", "version", "applied"})

Officers = Annotated[Principal, Depends(require_roles(Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF))]
Readers = Annotated[
    Principal,
    Depends(require_roles(Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.OPERATOR)),
]


def actor(principal: Principal) -> str:
    """Who acted, as stored: staff by subject; a driver as "driver", since the record he acts on
    already names him by driver id, and an erasure then need not hunt for his subject."""
    return "driver" if principal.role == Role.DRIVER else principal.subject


def public(doc: dict[str, Any], id_name: str) -> dict[str, Any]:
    """A stored document as the API shows it: its `_id` under `id_name`, no bookkeeping fields."""
    return {id_name: doc["_id"], **{k: v for k, v in doc.items() if k != "_id" and k not in INTERNAL_FIELDS}}


__all__ = ["Officers", "Readers", "actor", "public", "run_command"]
