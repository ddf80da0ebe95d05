"""The C header's enumerations (include/tokenstore.h) as IntEnums.

Each member's value is the header's constant, so a member can be passed wherever the C API
takes an int, and values read back from the library are turned into members.
"""
from enum import IntEnum

__all__ = [
    "Status", "Platform", "Authorization", "Subscription", "Durability", "BounceOutcome",
    "BounceCategory", "Segment", "PushKind", "ChangeKind", "WriteOutcome",
]


class Status(IntEnum):
    """A C status code (TS_OK, TS_STALE, TS_NOTFOUND, TS_E*)."""

    OK = 0
    STALE = 1
    NOTFOUND = -1
    EINVAL = -2
    EIO = -3
    ECORRUPT = -4
    ELOCKED = -5
    ENOSPC = -6
    EVERSION = -7
    ETOOBIG = -8
    ECLOSED = -9


class WriteOutcome(IntEnum):
    """What a write did: applied, or ignored as older than the key's stored event time."""

    APPLIED = 0
    STALE = 1


class Platform(IntEnum):
    """TS_PLATFORM_*: the push provider a token belongs to."""

    IOS = 1
    ANDROID = 2
    WEB = 3


class Authorization(IntEnum):
    """TS_AUTH_*: whether a token may show visible notifications."""

    FOREGROUND = 1
    PROVISIONAL = 2
    BACKGROUND = 3


class Subscription(IntEnum):
    """TS_SUB_*: a user's push subscription state."""

    SUBSCRIBED = 1
    OPTED_IN = 2
    UNSUBSCRIBED = 3


class Durability(IntEnum):
    """TS_DURABILITY_*: when the write-ahead log is forced to disk."""

    NONE = 0
    INTERVAL = 1
    ALWAYS = 2


class BounceOutcome(IntEnum):
    """TS_BOUNCE_*: what a provider rejection did to the token."""

    REMOVED = 1
    QUARANTINED = 2
    KEPT = 3
    STALE = 4


class BounceCategory(IntEnum):
    """TS_CATEGORY_*: how a provider error code was classified."""

    DEAD = 1
    MISCONFIGURED = 2
    TRANSIENT = 3
    PAYLOAD = 4
    UNKNOWN = 5


class Segment(IntEnum):
    """TS_SEGMENT_*: a campaign segment filter."""

    FOREGROUND_PUSH_ENABLED = 1
    FOREGROUND_PUSH_ENABLED_FOR_APP = 2
    BACKGROUND_OR_FOREGROUND_PUSH_ENABLED = 3
    SUBSCRIBED = 4
    OPTED_IN = 5
    UNSUBSCRIBED = 6


class PushKind(IntEnum):
    """TS_PUSH_*: a visible notification or a silent (background) push."""

    VISIBLE = 1
    SILENT = 2


class ChangeKind(IntEnum):
    """TS_CHANGE_*: the kind of a changelog entry."""

    REGISTERED = 1
    TOKEN_REPLACED = 2
    MOVED_IN = 3
    MOVED_OUT = 4
    AUTHORIZATION = 5
    BOUNCED = 6
    UNINSTALLED = 7
    EXPIRED = 8
    SUBSCRIPTION = 9
