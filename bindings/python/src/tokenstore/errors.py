"""The exception hierarchy: one class per C status, all under tokenstore.Error.

Every failing call raises the subclass of its status. The exception carries the status, the
C function that failed and the library's detail for this thread's failed call
(ts_last_error: the file, the field or the limit), which never holds a token or an id.
"""
from typing import Dict, Type

from .enums import Status

__all__ = [
    "Error", "NotFoundError", "InvalidArgumentError", "StoreIOError", "CorruptError", "LockedError",
    "NoSpaceError", "VersionError", "TooLargeError", "ClosedError", "error_for",
]


class Error(Exception):
    """A TokenStore call failed.

    Attributes:
        status: the C status code, a Status member.
        function: the C function that returned it, e.g. "ts_open".
        detail: what failed, from ts_last_error (may be empty).
    """

    status: Status = Status.EIO

    def __init__(self, status: int, function: str, message: str, detail: str = "") -> None:
        self.status = Status(status) if status in Status._value2member_map_ else status  # type: ignore[assignment]
        self.function = function
        self.detail = detail
        text = "%s: %s (%d)" % (function, message, status)
        super().__init__(text + (": " + detail if detail and detail != message else ""))


class NotFoundError(Error, LookupError):
    """TS_NOTFOUND: no record matches the key, token or user."""


class InvalidArgumentError(Error, ValueError):
    """TS_EINVAL: an argument is empty, malformed, not UTF-8 or out of range; nothing changed."""


class StoreIOError(Error, OSError):
    """TS_EIO: a system call or an allocation failed."""


class CorruptError(Error):
    """TS_ECORRUPT: a store file failed a checksum or structural check."""


class LockedError(Error):
    """TS_ELOCKED: the store is held open elsewhere."""


class NoSpaceError(Error, OSError):
    """TS_ENOSPC: the disk is full."""


class VersionError(Error):
    """TS_EVERSION: the store was written in another format version."""


class TooLargeError(Error, ValueError):
    """TS_ETOOBIG: an id or token exceeds its documented limit."""


class ClosedError(Error):
    """TS_ECLOSED: the store was closed."""


_CLASSES: Dict[int, Type[Error]] = {
    Status.NOTFOUND: NotFoundError,
    Status.EINVAL: InvalidArgumentError,
    Status.EIO: StoreIOError,
    Status.ECORRUPT: CorruptError,
    Status.ELOCKED: LockedError,
    Status.ENOSPC: NoSpaceError,
    Status.EVERSION: VersionError,
    Status.ETOOBIG: TooLargeError,
    Status.ECLOSED: ClosedError,
}


def error_for(status: int) -> Type[Error]:
    """The exception class of a C status (Error itself for a status this binding predates)."""
    return _CLASSES.get(status, Error)
