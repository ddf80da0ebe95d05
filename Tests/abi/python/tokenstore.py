"""A small ctypes binding for libtokenstore (include/tokenstore.h).

Copy this file into your project; it needs only the Python standard library and the shared
library. The library is found, in order, at $TOKENSTORE_LIBRARY, through
ctypes.util.find_library("tokenstore"), or as "libtokenstore.so.0" on the loader's path.

    import tokenstore
    with tokenstore.Store("/var/lib/tokens") as store:
        store.register("device-1", "com.example", "fcm-token", tokenstore.ANDROID,
                       tokenstore.FOREGROUND, user_id="kim", at_ms=now_ms)
        for token in store.user_tokens("kim"):
            print(token.app_id, token.token)

Strings are passed as UTF-8; ids and tokens come back as str. Every failing call raises
TokenStoreError, whose .status is the C status code (TS_E*). Writes ignored as older than
the stored event time return STALE rather than raising. A Store is safe to share between
threads; the library releases no Python locks, so calls block the interpreter while they run.
"""

import ctypes
import ctypes.util
import json
import os

__all__ = [
    "Store", "Options", "TokenStoreError", "Token", "Change", "version", "strerror", "load",
]

# Status codes.
OK, STALE = 0, 1
ENOTFOUND, EINVAL, EIO, ECORRUPT, ELOCKED, ENOSPC, EVERSION, ETOOBIG, ECLOSED = range(-1, -10, -1)
# Enumerations, as in tokenstore.h.
IOS, ANDROID, WEB = 1, 2, 3
FOREGROUND, PROVISIONAL, BACKGROUND = 1, 2, 3
SUBSCRIBED, OPTED_IN, UNSUBSCRIBED = 1, 2, 3
DURABILITY_NONE, DURABILITY_INTERVAL, DURABILITY_ALWAYS = 0, 1, 2
BOUNCE_REMOVED, BOUNCE_QUARANTINED, BOUNCE_KEPT, BOUNCE_STALE = 1, 2, 3, 4
CATEGORY_DEAD, CATEGORY_MISCONFIGURED, CATEGORY_TRANSIENT, CATEGORY_PAYLOAD, CATEGORY_UNKNOWN = 1, 2, 3, 4, 5
SEGMENT_FOREGROUND_PUSH_ENABLED = 1
SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP = 2
SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED = 3
SEGMENT_SUBSCRIBED, SEGMENT_OPTED_IN, SEGMENT_UNSUBSCRIBED = 4, 5, 6
PUSH_VISIBLE, PUSH_SILENT = 1, 2
(CHANGE_REGISTERED, CHANGE_TOKEN_REPLACED, CHANGE_MOVED_IN, CHANGE_MOVED_OUT, CHANGE_AUTHORIZATION,
 CHANGE_BOUNCED, CHANGE_UNINSTALLED, CHANGE_EXPIRED, CHANGE_SUBSCRIPTION) = range(1, 10)

OPTIONS_VERSION = 1
STATS_VERSION = 1


class TokenStoreError(Exception):
    """A TokenStore call failed; .status is the C status code."""

    def __init__(self, status, function):
        self.status = status
        self.function = function
        super().__init__("%s: %s (%d)" % (function, strerror(status), status))


class Options(ctypes.Structure):
    """ts_options. Create with Options() to get the library defaults."""

    _fields_ = [
        ("version", ctypes.c_uint32),
        ("shards", ctypes.c_uint32),
        ("durability", ctypes.c_int),
        ("sync_interval_ms", ctypes.c_uint32),
        ("quarantine_misconfigured", ctypes.c_int),
        ("changelog_limit", ctypes.c_int),
        ("must_exist", ctypes.c_int),
        ("checkpoint_log_bytes", ctypes.c_uint64),
    ]

    def __init__(self, **fields):
        super().__init__()
        load().ts_options_init(ctypes.byref(self))
        for name, value in fields.items():
            setattr(self, name, value)


class _TokenView(ctypes.Structure):
    _fields_ = [
        ("device_id", ctypes.c_void_p), ("device_id_len", ctypes.c_size_t),
        ("app_id", ctypes.c_void_p), ("app_id_len", ctypes.c_size_t),
        ("token", ctypes.c_void_p), ("token_len", ctypes.c_size_t),
        ("user_id", ctypes.c_void_p), ("user_id_len", ctypes.c_size_t),
        ("platform", ctypes.c_int), ("authorization", ctypes.c_int),
        ("created_at_ms", ctypes.c_int64), ("updated_at_ms", ctypes.c_int64),
        ("quarantined", ctypes.c_int),
    ]


class _ChangeView(ctypes.Structure):
    _fields_ = [
        ("at_ms", ctypes.c_int64), ("kind", ctypes.c_int),
        ("device_id", ctypes.c_void_p), ("device_id_len", ctypes.c_size_t),
        ("app_id", ctypes.c_void_p), ("app_id_len", ctypes.c_size_t),
        ("token", ctypes.c_void_p), ("token_len", ctypes.c_size_t),
        ("other_user_id", ctypes.c_void_p), ("other_user_id_len", ctypes.c_size_t),
        ("detail", ctypes.c_void_p), ("detail_len", ctypes.c_size_t),
    ]


class _Stats(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
        ("tokens", ctypes.c_uint64), ("users", ctypes.c_uint64), ("quarantined", ctypes.c_uint64),
        ("by_platform", ctypes.c_uint64 * 4), ("by_authorization", ctypes.c_uint64 * 4),
        ("bounces_by_outcome", ctypes.c_uint64 * 5), ("bounces_by_category", ctypes.c_uint64 * 6),
    ]


_TOKEN_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_TokenView))
_CHANGE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_ChangeView))
_USER_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                             ctypes.POINTER(_TokenView))


class Token:
    """A token record, copied out of a ts_token_view."""

    __slots__ = ("device_id", "app_id", "token", "user_id", "platform", "authorization",
                 "created_at_ms", "updated_at_ms", "quarantined")

    def __init__(self, view):
        self.device_id = _text(view.device_id, view.device_id_len)
        self.app_id = _text(view.app_id, view.app_id_len)
        self.token = _text(view.token, view.token_len)
        self.user_id = _text(view.user_id, view.user_id_len) or None  # None = anonymous
        self.platform = view.platform
        self.authorization = view.authorization
        self.created_at_ms = view.created_at_ms
        self.updated_at_ms = view.updated_at_ms
        self.quarantined = bool(view.quarantined)

    def __repr__(self):
        return "Token(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


class Change:
    """A changelog entry, copied out of a ts_change_view."""

    __slots__ = ("at_ms", "kind", "device_id", "app_id", "token", "other_user_id", "detail")

    def __init__(self, view):
        self.at_ms = view.at_ms
        self.kind = view.kind
        self.device_id = _text(view.device_id, view.device_id_len)
        self.app_id = _text(view.app_id, view.app_id_len)
        self.token = _text(view.token, view.token_len)
        self.other_user_id = _text(view.other_user_id, view.other_user_id_len) or None
        self.detail = _text(view.detail, view.detail_len) or None

    def __repr__(self):
        return "Change(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


def _text(pointer, length):
    return ctypes.string_at(pointer, length).decode("utf-8") if length else ""


def _bytes(value):
    """A str argument as UTF-8 bytes; None stays None (NULL)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8")


_library = None


def load(path=None):
    """Loads (once) and returns the shared library, with argument types declared."""
    global _library
    if _library is not None and path is None:
        return _library
    path = path or os.environ.get("TOKENSTORE_LIBRARY") or ctypes.util.find_library("tokenstore") \
        or "libtokenstore.so.0"
    lib = ctypes.CDLL(path)
    P, S, I, I64, U64 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64, ctypes.c_uint64
    IP, U64P = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_uint64)
    signatures = {
        "ts_version": (S, []),
        "ts_strerror": (S, [I]),
        "ts_options_init": (None, [ctypes.POINTER(Options)]),
        "ts_open": (I, [ctypes.POINTER(P), S, ctypes.POINTER(Options)]),
        "ts_close": (I, [P]),
        "ts_sync": (I, [P]),
        "ts_checkpoint": (I, [P]),
        "ts_register": (I, [P, S, S, S, I, I, S, I64]),
        "ts_change_user": (I, [P, S, S, S, I64]),
        "ts_set_authorization": (I, [P, S, S, I, I64]),
        "ts_set_subscription": (I, [P, S, I, I64]),
        "ts_bounce": (I, [P, S, S, I64, I64, IP]),
        "ts_bounce_ex": (I, [P, S, S, I64, I64, IP, IP]),
        "ts_uninstall": (I, [P, S, S, I64]),
        "ts_sweep": (I, [P, I, I64, U64P]),
        "ts_sweep_at": (I, [P, I, I64, I64, U64P]),
        "ts_get": (I, [P, S, S, _TOKEN_FN, P]),
        "ts_user_tokens": (I, [P, S, _TOKEN_FN, P]),
        "ts_sendable_tokens": (I, [P, S, S, I, _TOKEN_FN, P]),
        "ts_get_user": (I, [P, S, IP, ctypes.POINTER(I64), ctypes.POINTER(I64)]),
        "ts_segment_count": (I, [P, I, S, U64P]),
        "ts_segment_users": (I, [P, I, S, _USER_FN, P]),
        "ts_campaign_tokens": (I, [P, I, S, S, I, _TOKEN_FN, P]),
        "ts_get_many": (I, [P, ctypes.c_size_t, ctypes.POINTER(S), ctypes.POINTER(S), _BATCH_FN, P]),
        "ts_changelog": (I, [P, S, _CHANGE_FN, P]),
        "ts_export_user_json": (I, [P, S, ctypes.POINTER(P), ctypes.POINTER(ctypes.c_size_t)]),
        "ts_free": (None, [P]),
        "ts_count": (I, [P, U64P]),
        "ts_stats": (I, [P, ctypes.POINTER(_Stats)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    _library = lib
    return lib


def version():
    """The library's "MAJOR.MINOR.PATCH"."""
    return load().ts_version().decode()


def strerror(status):
    """The library's text for a status code."""
    return load().ts_strerror(status).decode()


class Store:
    """An open store (ts_store *). Use as a context manager, or call close()."""

    def __init__(self, path, options=None, **option_fields):
        if options is None and option_fields:
            options = Options(**option_fields)
        self._lib = load()
        handle = ctypes.c_void_p()
        status = self._lib.ts_open(ctypes.byref(handle), _bytes(os.fspath(path)),
                                   ctypes.byref(options) if options is not None else None)
        self._check(status, "ts_open")
        self._handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except TokenStoreError:
            pass

    @property
    def handle(self):
        if not self._handle:
            raise TokenStoreError(ECLOSED, "Store")
        return self._handle

    @staticmethod
    def _check(status, function, allow=(OK, STALE)):
        if status not in allow:
            raise TokenStoreError(status, function)
        return status

    def close(self):
        """Flushes and closes the store; further calls raise TokenStoreError(ECLOSED)."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._check(self._lib.ts_close(handle), "ts_close")

    def sync(self):
        self._check(self._lib.ts_sync(self.handle), "ts_sync")

    def checkpoint(self):
        self._check(self._lib.ts_checkpoint(self.handle), "ts_checkpoint")

    # Writes: each returns OK or STALE.

    def register(self, device_id, app_id, token, platform, authorization, user_id=None, at_ms=0):
        return self._check(self._lib.ts_register(
            self.handle, _bytes(device_id), _bytes(app_id), _bytes(token), platform, authorization,
            _bytes(user_id), at_ms), "ts_register")

    def change_user(self, device_id, app_id, user_id, at_ms):
        """Moves the key's token to user_id; None logs out (anonymous)."""
        return self._check(self._lib.ts_change_user(
            self.handle, _bytes(device_id), _bytes(app_id), _bytes(user_id), at_ms), "ts_change_user")

    def set_authorization(self, device_id, app_id, authorization, at_ms):
        return self._check(self._lib.ts_set_authorization(
            self.handle, _bytes(device_id), _bytes(app_id), authorization, at_ms), "ts_set_authorization")

    def set_subscription(self, user_id, subscription, at_ms):
        return self._check(self._lib.ts_set_subscription(
            self.handle, _bytes(user_id), subscription, at_ms), "ts_set_subscription")

    def bounce(self, token, error_code, at_ms, provider_ts_ms=0):
        """Applies a provider rejection; returns (BOUNCE_* outcome, CATEGORY_* category)."""
        outcome, category = ctypes.c_int(), ctypes.c_int()
        self._check(self._lib.ts_bounce_ex(
            self.handle, _bytes(token), _bytes(error_code), provider_ts_ms, at_ms,
            ctypes.byref(outcome), ctypes.byref(category)), "ts_bounce_ex", allow=(OK,))
        return outcome.value, category.value

    def uninstall(self, device_id, app_id, at_ms):
        return self._check(self._lib.ts_uninstall(
            self.handle, _bytes(device_id), _bytes(app_id), at_ms), "ts_uninstall")

    def sweep(self, older_than_ms, platform=0, at_ms=None):
        """Expires tokens last updated strictly before older_than_ms; returns how many."""
        removed = ctypes.c_uint64()
        if at_ms is None:
            status = self._lib.ts_sweep(self.handle, platform, older_than_ms, ctypes.byref(removed))
        else:
            status = self._lib.ts_sweep_at(self.handle, platform, older_than_ms, at_ms, ctypes.byref(removed))
        self._check(status, "ts_sweep", allow=(OK,))
        return removed.value

    # Reads: callbacks copy each view into a Python object.

    def _collect_tokens(self, function, name, *args):
        items, errors = [], []

        def on_token(_ctx, view):
            try:
                items.append(Token(view.contents))
                return 0
            except BaseException as error:  # never let an exception unwind through C
                errors.append(error)
                return 1

        callback = _TOKEN_FN(on_token)
        status = function(self.handle, *args, callback, None)
        if errors:
            raise errors[0]
        return status, items

    def get(self, device_id, app_id):
        """The key's Token, or None."""
        status, items = self._collect_tokens(self._lib.ts_get, "ts_get", _bytes(device_id), _bytes(app_id))
        if status == ENOTFOUND:
            return None
        self._check(status, "ts_get", allow=(OK,))
        return items[0]

    def user_tokens(self, user_id):
        """The Tokens user_id owns (empty for an unknown user)."""
        status, items = self._collect_tokens(self._lib.ts_user_tokens, "ts_user_tokens", _bytes(user_id))
        self._check(status, "ts_user_tokens", allow=(OK,))
        return items

    def sendable_tokens(self, user_id, app_id, push_kind=PUSH_VISIBLE):
        status, items = self._collect_tokens(
            self._lib.ts_sendable_tokens, "ts_sendable_tokens", _bytes(user_id), _bytes(app_id), push_kind)
        self._check(status, "ts_sendable_tokens", allow=(OK,))
        return items

    def get_many(self, keys):
        """The Token of each (device_id, app_id) in keys, or None where the key holds none, in
        the order of keys: one ts_get_many call, the keys looked up in batches."""
        keys = list(keys)
        device_ids = (ctypes.c_char_p * len(keys))(*[_bytes(device) for device, _ in keys])
        app_ids = (ctypes.c_char_p * len(keys))(*[_bytes(app) for _, app in keys])
        items, errors = [None] * len(keys), []

        def on_key(_ctx, index, status, view):
            try:
                if status == OK:
                    items[index] = Token(view.contents)
                return 0
            except BaseException as error:  # never let an exception unwind through C
                errors.append(error)
                return 1

        status = self._lib.ts_get_many(self.handle, len(keys), device_ids, app_ids, _BATCH_FN(on_key), None)
        if errors:
            raise errors[0]
        self._check(status, "ts_get_many", allow=(OK,))
        return items

    def campaign_tokens(self, segment, campaign_app_id, push_kind=PUSH_VISIBLE, segment_app_id=None):
        """The Tokens a campaign for campaign_app_id may push to now, over the users in segment
        (segment_app_id as app_id in segment_count): one pass, in no particular order."""
        status, items = self._collect_tokens(
            self._lib.ts_campaign_tokens, "ts_campaign_tokens", segment, _bytes(segment_app_id),
            _bytes(campaign_app_id), push_kind)
        self._check(status, "ts_campaign_tokens", allow=(OK,))
        return items

    def user(self, user_id):
        """(SUB_* subscription, opted_in_at_ms, unsubscribed_at_ms), or None for an unknown user."""
        sub, opted, unsub = ctypes.c_int(), ctypes.c_int64(), ctypes.c_int64()
        status = self._lib.ts_get_user(self.handle, _bytes(user_id), ctypes.byref(sub), ctypes.byref(opted),
                                       ctypes.byref(unsub))
        if status == ENOTFOUND:
            return None
        self._check(status, "ts_get_user", allow=(OK,))
        return sub.value, opted.value, unsub.value

    def changelog(self, user_id):
        """The user's Changes, oldest first."""
        items, errors = [], []

        def on_change(_ctx, view):
            try:
                items.append(Change(view.contents))
                return 0
            except BaseException as error:
                errors.append(error)
                return 1

        status = self._lib.ts_changelog(self.handle, _bytes(user_id), _CHANGE_FN(on_change), None)
        if errors:
            raise errors[0]
        self._check(status, "ts_changelog", allow=(OK,))
        return items

    def segment_count(self, segment, app_id=None):
        count = ctypes.c_uint64()
        self._check(self._lib.ts_segment_count(self.handle, segment, _bytes(app_id), ctypes.byref(count)),
                    "ts_segment_count", allow=(OK,))
        return count.value

    def segment_users(self, segment, app_id=None):
        users = []

        def on_user(_ctx, pointer, length):
            users.append(ctypes.string_at(pointer, length).decode("utf-8"))
            return 0

        self._check(self._lib.ts_segment_users(self.handle, segment, _bytes(app_id), _USER_FN(on_user), None),
                    "ts_segment_users", allow=(OK,))
        return users

    def export_user_json(self, user_id):
        """The user's export as a parsed JSON object, or None for an unknown user."""
        pointer, length = ctypes.c_void_p(), ctypes.c_size_t()
        status = self._lib.ts_export_user_json(self.handle, _bytes(user_id), ctypes.byref(pointer),
                                               ctypes.byref(length))
        if status == ENOTFOUND:
            return None
        self._check(status, "ts_export_user_json", allow=(OK,))
        try:
            text = ctypes.string_at(pointer, length.value).decode("utf-8")
        finally:
            self._lib.ts_free(pointer)
        return json.loads(text)

    def count(self):
        count = ctypes.c_uint64()
        self._check(self._lib.ts_count(self.handle, ctypes.byref(count)), "ts_count", allow=(OK,))
        return count.value

    def stats(self):
        """Counts over the store as a dict; per-enum arrays are indexed by the constant."""
        stats = _Stats(version=STATS_VERSION)
        self._check(self._lib.ts_stats(self.handle, ctypes.byref(stats)), "ts_stats", allow=(OK,))
        return {
            "tokens": stats.tokens, "users": stats.users, "quarantined": stats.quarantined,
            "by_platform": list(stats.by_platform), "by_authorization": list(stats.by_authorization),
            "bounces_by_outcome": list(stats.bounces_by_outcome),
            "bounces_by_category": list(stats.bounces_by_category),
        }
