"""tokenstore: a typed Python binding of libtokenstore (include/tokenstore.h), through ctypes.

    import tokenstore
    from tokenstore import Platform, Authorization

    with tokenstore.Store("/var/lib/push-tokens") as store:
        store.register("pixel-7", "com.example.news", "fcm-token", Platform.ANDROID,
                       Authorization.FOREGROUND, user_id="kim")
        for token in store.user_tokens("kim"):
            print(token.app_id, token.token)

It needs only the standard library and libtokenstore.so.0, found at the path passed to
load_library() or Store(library=...), then at $TOKENSTORE_LIBRARY, then by the loader.
"""
from ._native import load_library
from .enums import (Authorization, BounceCategory, BounceOutcome, ChangeKind, Durability, Platform, PushKind,
                    Segment, Status, Subscription, WriteOutcome)
from .errors import (ClosedError, CorruptError, Error, InvalidArgumentError, LockedError, NoSpaceError,
                     NotFoundError, StoreIOError, TooLargeError, VersionError)
from .store import OPTION_NAMES, Store, last_error, strerror, version
from .views import Bounce, Change, Stats, Token, User

#: This package's version, equal to the C library's it was written for (TS_VERSION_STRING).
__version__ = "0.2.0"

__all__ = [
    "__version__", "load_library", "version", "strerror", "last_error", "Store", "OPTION_NAMES",
    "Status", "WriteOutcome", "Platform", "Authorization", "Subscription", "Durability", "BounceOutcome",
    "BounceCategory", "Segment", "PushKind", "ChangeKind",
    "Token", "Change", "User", "Bounce", "Stats",
    "Error", "NotFoundError", "InvalidArgumentError", "StoreIOError", "CorruptError", "LockedError",
    "NoSpaceError", "VersionError", "TooLargeError", "ClosedError",
]
