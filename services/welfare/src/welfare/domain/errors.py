"""The welfare service's domain error: the project's `DomainError` (field, reason code, Chinese
message, details, and which kind of refusal: invalid → 422, conflict → 409, not_found → 404,
forbidden → 403), named for this domain."""

from __future__ import annotations

from roadbranch_shared.domain import DomainError


class WelfareError(DomainError):
    """A command welfare refuses; routes answer it through `roadbranch_shared.domain.run_command`."""
