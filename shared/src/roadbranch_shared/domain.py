"""A refused command as the domain states it (field, reason code, Chinese message, which kind of
refusal), and the one way a route turns it into the project's JSON error answer.

Services without their own error class use these; a domain layer raises `DomainError` with no
knowledge of HTTP, and the entrypoint runs the use case through `run_command`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from roadbranch_shared.errors import ApiError, ErrorCode, FieldError

T = TypeVar("T")


class DomainError(ValueError):
    INVALID = "invalid"  # the input is wrong: 422 naming the field
    CONFLICT = "conflict"  # the input is fine but the state refuses it: 409
    NOT_FOUND = "not_found"  # 404
    FORBIDDEN = "forbidden"  # outside the caller's scope: 403

    def __init__(
        self, field: str, reason: str, message: str, status: str = CONFLICT, **details: object
    ) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message
        self.status = status
        self.details = details  # more for the client (e.g. on_hand, requested), beside the reason

    def as_api_error(self) -> ApiError:
        if self.status == DomainError.INVALID:
            return ApiError.invalid([FieldError(self.field, self.reason, self.message)])
        status, code = {
            DomainError.NOT_FOUND: (404, ErrorCode.NOT_FOUND),
            DomainError.FORBIDDEN: (403, ErrorCode.FORBIDDEN),
        }.get(self.status, (409, ErrorCode.CONFLICT))
        details = {"reason": self.reason, **self.details}
        return ApiError(status, code, self.message, field=self.field, details=details)


def check_consented_words(text: str, consent: object, *, prefix: str = "") -> None:
    """A driver's own words may be kept for the briefing only with his consent and never with an ID
    or phone number in them; `prefix` places the fields in the request body (e.g. `words.`)."""
    from roadbranch_shared.pii import find_pii

    if consent is not True:
        raise DomainError(f"{prefix}consent", "required", "须经本人同意方可记录原话", DomainError.INVALID)
    if find_pii(text):
        raise DomainError(
            f"{prefix}text", "contains_pii", "原话中不能含身份证号或手机号", DomainError.INVALID
        )


async def run_command(work: Awaitable[T]) -> T:
    """Await a use case; a DomainError becomes the project's JSON error answer."""
    try:
        return await work
    except DomainError as e:
        raise e.as_api_error() from None


__all__ = ["DomainError", "check_consented_words", "run_command"]
