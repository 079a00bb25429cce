"""Reading an uploaded table in a request: size limit, file type, and the columns it must have."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TypeVar

from fastapi import UploadFile
from roadbranch_shared.errors import ApiError, FieldError

from roster.adapters.tables import Table, UnreadableFile, read_table

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
T = TypeVar("T")


async def checked_upload(
    file: UploadFile, check: Callable[[Table], T | list[str]], columns: Mapping[str, tuple[str, ...]]
) -> T:
    """Read and check the file off the event loop; 422 naming `file` for anything it cannot use.

    `check` returns its result, or the fields whose required columns the file lacks."""
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise ApiError.invalid([FieldError("file", "too_large", "文件超过 20 MB，请分批上传")])
    try:
        table = await asyncio.to_thread(read_table, file.filename or "", content)
    except UnreadableFile as e:
        raise ApiError.invalid([FieldError("file", e.reason, e.message)]) from None
    checked = await asyncio.to_thread(check, table)
    if isinstance(checked, list):
        raise ApiError.invalid(
            [FieldError("file", "missing_column", f"缺少必需的列：{columns[field][0]}") for field in checked]
        )
    return checked
