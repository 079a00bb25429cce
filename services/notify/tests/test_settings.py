"""Notify's settings refuse a lease that could end while a full pass's sends are still waiting for
their answers."""

from __future__ import annotations

import pytest
from notify.settings import Settings
from pydantic import ValidationError


def test_a_lease_no_longer_than_a_full_pass_is_refused_naming_the_settings() -> None:
    # 100 messages, 10 at a time, up to 5 s each: a pass may take 50 s.
    Settings(lease_seconds=51, send_timeout_seconds=5, batch_size=100, send_concurrency=10)
    with pytest.raises(ValidationError) as refused:
        Settings(lease_seconds=50, send_timeout_seconds=5, batch_size=100, send_concurrency=10)
    assert "lease_seconds must be longer than a full pass can take" in str(refused.value)
    assert "= 50 s" in str(refused.value)


def test_the_default_lease_outlasts_a_default_pass() -> None:
    settings = Settings()
    assert settings.lease_seconds > settings.send_timeout_seconds * 16  # 500 messages, 32 at a time
