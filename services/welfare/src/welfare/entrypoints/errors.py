"""What welfare's routes share: the roles and who acted. A stored document goes out through
`roadbranch_shared.documents.public`, a refused command is answered by
`roadbranch_shared.domain.run_command`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.domain import run_command

Officers = Annotated[Principal, Depends(require_roles(Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF))]
Readers = Annotated[
    Principal,
    Depends(require_roles(Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.OPERATOR)),
]


def actor(principal: Principal) -> str:
    """Who acted, as stored: staff by subject; a driver as "driver", since the record he acts on
    already names him by driver id, and an erasure then need not hunt for his subject."""
    return "driver" if principal.role == Role.DRIVER else principal.subject


__all__ = ["Officers", "Readers", "actor", "run_command"]
