"""The roster's HTTP API for the organisation (being built)."""

from __future__ import annotations

from fastapi import APIRouter
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.service import Service

router = APIRouter(prefix="/v1", tags=["organisation"])


def attach(service: Service, db: AsyncDatabase[dict]) -> None:
    """Put this feature's use cases on `service.app.state` once the database is open."""
