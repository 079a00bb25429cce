"""The roster's domain error: what was refused (field, reason code, Chinese message) and how the
API should answer it (invalid → 422, conflict → 409, not_found → 404)."""

from __future__ import annotations


class RosterError(ValueError):
    INVALID = "invalid"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"

    def __init__(self, field: str, reason: str, message: str, status: str = CONFLICT) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message
        self.status = status
