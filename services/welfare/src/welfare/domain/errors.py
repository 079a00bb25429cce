"""The welfare service's domain error: what was refused (field, reason code, Chinese message) and how
the API answers it (invalid → 422, conflict → 409, not_found → 404, forbidden → 403)."""

from __future__ import annotations


class WelfareError(ValueError):
    INVALID = "invalid"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"

    def __init__(
        self, field: str, reason: str, message: str, status: str = CONFLICT, **details: object
    ) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message
        self.status = status
        self.details = details
