"""Store: an open store directory (a ts_store * handle)."""
import ctypes
import json
import os
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import _native
from .enums import (Authorization, BounceCategory, BounceOutcome, Platform, PushKind, Segment, Status,
                    Subscription, WriteOutcome)
from .errors import ClosedError, error_for
from .views import Bounce, Change, Stats, Token, User, _member

__all__ = ["Store", "OPTION_NAMES", "version", "strerror", "last_error"]

Text = Union[str, bytes]
PathLike = Union[str, bytes, "os.PathLike[str]"]

#: The keyword options Store() takes: the fields of ts_options other than its version.
OPTION_NAMES = ("shards", "durability", "sync_interval_ms", "quarantine_misconfigured", "changelog_limit",
                "must_exist", "checkpoint_log_bytes")


def version() -> str:
    """The library's "MAJOR.MINOR.PATCH"."""
    text: bytes = _native.library().ts_version()
    return text.decode()


def strerror(status: int) -> str:
    """The library's text for a status code."""
    text: bytes = _native.library().ts_strerror(status)
    return text.decode()


def last_error() -> str:
    """The detail of this thread's last failed call (ts_last_error); "" when there is none."""
    lib = _native.library()
    if not hasattr(lib, "ts_last_error"):
        return ""
    text: Optional[bytes] = lib.ts_last_error()
    return text.decode("utf-8", "replace") if text else ""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _bytes(value: Optional[Text]) -> Optional[bytes]:
    """A str argument as UTF-8 bytes; bytes pass through; None stays None (NULL)."""
    if value is None or isinstance(value, bytes):
        return value
    return value.encode("utf-8")


def _raise(status: int, function: str) -> None:
    raise error_for(status)(status, function, strerror(status), last_error())


def _check(status: int, function: str, allow: Tuple[int, ...] = (Status.OK,)) -> int:
    if status not in allow:
        _raise(status, function)
    return status


def _write(status: int, function: str) -> WriteOutcome:
    return WriteOutcome(_check(status, function, (Status.OK, Status.STALE)))


class Store:
    """An open store: a directory, created when absent.

    Use it as a context manager, or call close(). A Store may be shared between threads; the
    library's calls release the GIL, so threads run them concurrently.

    Reads copy every record out of the library during one C call (its views are valid only
    then) and return an iterator over the copies. Every failing call raises a subclass of
    tokenstore.Error carrying the status and the library's detail.
    """

    def __init__(self, path: PathLike, *, library: Optional[str] = None, **options: int) -> None:
        """Opens (or creates) the store at path.

        Args:
            path: the store directory.
            library: the path of libtokenstore.so to use instead of $TOKENSTORE_LIBRARY or the
                loader's search.
            **options: ts_options fields (OPTION_NAMES): shards, durability (a Durability),
                sync_interval_ms, quarantine_misconfigured, changelog_limit, must_exist,
                checkpoint_log_bytes. The library's defaults apply to the others.

        Raises:
            TypeError: an option name is not one of OPTION_NAMES.
            tokenstore.Error: the store cannot be opened (the subclass says why).
        """
        self._handle: Optional[int] = None
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise TypeError("unknown Store option%s %s; the options are %s" % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(OPTION_NAMES)))
        self._lib = _native.load_library(library) if library is not None else _native.library()
        opts = None
        if options:
            opts = _native.Options()
            self._lib.ts_options_init(ctypes.byref(opts))
            for name, value in options.items():
                setattr(opts, name, int(value))
        handle = ctypes.c_void_p()
        status = self._lib.ts_open(ctypes.byref(handle), _bytes(os.fsdecode(path)),
                                   ctypes.byref(opts) if opts is not None else None)
        _check(status, "ts_open")
        self._handle = handle.value
        self._close_lock = threading.Lock()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __len__(self) -> int:
        """The number of tokens in the store."""
        return self.count()

    @property
    def _h(self) -> int:
        handle = self._handle
        if not handle:
            raise ClosedError(Status.ECLOSED, "Store", "store is closed")
        return handle

    @property
    def closed(self) -> bool:
        """Whether close() has been called."""
        return not self._handle

    def close(self) -> None:
        """Flushes and closes the store; later calls raise ClosedError. Closing twice is a no-op."""
        lock = getattr(self, "_close_lock", None)
        if lock is None:
            return
        with lock:
            handle, self._handle = self._handle, None
        if handle:
            _check(self._lib.ts_close(handle), "ts_close")

    def sync(self) -> None:
        """Forces every acknowledged write to disk."""
        _check(self._lib.ts_sync(self._h), "ts_sync")

    def checkpoint(self) -> None:
        """Writes the shard files and trims the log."""
        _check(self._lib.ts_checkpoint(self._h), "ts_checkpoint")

    # Writes. Each returns WriteOutcome.APPLIED, or STALE when at_ms is older than the key's
    # stored event time. at_ms defaults to now.

    def register(self, device_id: Text, app_id: Text, token: Text, platform: Platform,
                 authorization: Authorization, *, user_id: Optional[Text] = None,
                 at_ms: Optional[int] = None) -> WriteOutcome:
        """Upserts the key's token; user_id None keeps the key's owner."""
        return _write(self._lib.ts_register(
            self._h, _bytes(device_id), _bytes(app_id), _bytes(token), int(platform), int(authorization),
            _bytes(user_id), _now_ms() if at_ms is None else at_ms), "ts_register")

    def change_user(self, device_id: Text, app_id: Text, user_id: Optional[Text], *,
                    at_ms: Optional[int] = None) -> WriteOutcome:
        """Moves the key's token to user_id; None logs out (the token stays, anonymous)."""
        return _write(self._lib.ts_change_user(
            self._h, _bytes(device_id), _bytes(app_id), _bytes(user_id),
            _now_ms() if at_ms is None else at_ms), "ts_change_user")

    def set_authorization(self, device_id: Text, app_id: Text, authorization: Authorization, *,
                          at_ms: Optional[int] = None) -> WriteOutcome:
        """Records that visible notifications were turned off or back on for the key."""
        return _write(self._lib.ts_set_authorization(
            self._h, _bytes(device_id), _bytes(app_id), int(authorization),
            _now_ms() if at_ms is None else at_ms), "ts_set_authorization")

    def set_subscription(self, user_id: Text, subscription: Subscription, *,
                         at_ms: Optional[int] = None) -> WriteOutcome:
        """Sets the user's subscription, creating the user if needed."""
        return _write(self._lib.ts_set_subscription(
            self._h, _bytes(user_id), int(subscription), _now_ms() if at_ms is None else at_ms),
            "ts_set_subscription")

    def bounce(self, token: Text, error_code: Text, *, at_ms: Optional[int] = None,
               provider_ts_ms: int = 0) -> Bounce:
        """Applies a provider rejection of token.

        Returns:
            the Bounce: outcome (removed, quarantined, kept or stale) and the error's category.
        Raises:
            NotFoundError: no key holds the token.
        """
        outcome, category = ctypes.c_int(), ctypes.c_int()
        _check(self._lib.ts_bounce_ex(
            self._h, _bytes(token), _bytes(error_code), provider_ts_ms, _now_ms() if at_ms is None else at_ms,
            ctypes.byref(outcome), ctypes.byref(category)), "ts_bounce_ex")
        return Bounce(_member(BounceOutcome, outcome.value),  # type: ignore[arg-type]
                      _member(BounceCategory, category.value))  # type: ignore[arg-type]

    def uninstall(self, device_id: Text, app_id: Text, *, at_ms: Optional[int] = None) -> WriteOutcome:
        """Removes the key's token: the app was uninstalled."""
        return _write(self._lib.ts_uninstall(
            self._h, _bytes(device_id), _bytes(app_id), _now_ms() if at_ms is None else at_ms), "ts_uninstall")

    def sweep(self, older_than_ms: int, *, platform: Optional[Platform] = None,
              at_ms: Optional[int] = None) -> int:
        """Expires tokens last updated before older_than_ms (of one platform, or all); returns how many."""
        removed = ctypes.c_uint64()
        which = 0 if platform is None else int(platform)
        if at_ms is None:
            status = self._lib.ts_sweep(self._h, which, older_than_ms, ctypes.byref(removed))
        else:
            status = self._lib.ts_sweep_at(self._h, which, older_than_ms, at_ms, ctypes.byref(removed))
        _check(status, "ts_sweep")
        return removed.value

    # Reads.

    def _tokens(self, function: Callable[..., int], name: str, *args: Any) -> List[Token]:
        items: List[Token] = []
        errors: List[BaseException] = []

        def on_token(_ctx: Optional[int], view: Any) -> int:
            try:
                items.append(Token._from_view(view.contents))
                return 0
            except BaseException as error:  # never let an exception unwind through C
                errors.append(error)
                return 1

        status = function(self._h, *args, _native.TOKEN_FN(on_token), None)
        if errors:
            raise errors[0]
        _check(status, name)
        return items

    def get(self, device_id: Text, app_id: Text) -> Optional[Token]:
        """The key's Token, or None when the key holds none."""
        try:
            return self._tokens(self._lib.ts_get, "ts_get", _bytes(device_id), _bytes(app_id))[0]
        except error_for(Status.NOTFOUND):
            return None

    def user_tokens(self, user_id: Text) -> Iterator[Token]:
        """The Tokens user_id owns (none for an unknown user)."""
        return iter(self._tokens(self._lib.ts_user_tokens, "ts_user_tokens", _bytes(user_id)))

    def sendable_tokens(self, user_id: Text, app_id: Text, kind: PushKind = PushKind.VISIBLE) -> Iterator[Token]:
        """The user's Tokens for app_id that a push of this kind may go to now."""
        return iter(self._tokens(self._lib.ts_sendable_tokens, "ts_sendable_tokens", _bytes(user_id),
                                 _bytes(app_id), int(kind)))

    def campaign_tokens(self, segment: Segment, campaign_app_id: Text, kind: PushKind = PushKind.VISIBLE, *,
                        segment_app_id: Optional[Text] = None) -> Iterator[Token]:
        """The Tokens a campaign for campaign_app_id may push to now over the users in segment, in
        one pass (segment_app_id is the app of FOREGROUND_PUSH_ENABLED_FOR_APP)."""
        return iter(self._tokens(self._lib.ts_campaign_tokens, "ts_campaign_tokens", int(segment),
                                 _bytes(segment_app_id), _bytes(campaign_app_id), int(kind)))

    def get_many(self, keys: Iterable[Tuple[Text, Text]]) -> List[Optional[Token]]:
        """The Token of each (device_id, app_id) of keys, or None where the key holds none, in the
        order of keys: one ts_get_many call, which looks the keys up in batches."""
        keys = list(keys)
        device_ids = (ctypes.c_char_p * len(keys))(*[_bytes(device) for device, _ in keys])
        app_ids = (ctypes.c_char_p * len(keys))(*[_bytes(app) for _, app in keys])
        items: List[Optional[Token]] = [None] * len(keys)
        errors: List[BaseException] = []

        def on_key(_ctx: Optional[int], index: int, status: int, view: Any) -> int:
            try:
                if status == Status.OK:
                    items[index] = Token._from_view(view.contents)
                return 0
            except BaseException as error:  # never let an exception unwind through C
                errors.append(error)
                return 1

        status = self._lib.ts_get_many(self._h, len(keys), device_ids, app_ids, _native.BATCH_FN(on_key), None)
        if errors:
            raise errors[0]
        _check(status, "ts_get_many")
        return items

    def user(self, user_id: Text) -> Optional[User]:
        """The user's subscription state, or None for an unknown user."""
        sub, opted, unsub = ctypes.c_int(), ctypes.c_int64(), ctypes.c_int64()
        status = self._lib.ts_get_user(self._h, _bytes(user_id), ctypes.byref(sub), ctypes.byref(opted),
                                       ctypes.byref(unsub))
        if status == Status.NOTFOUND:
            return None
        _check(status, "ts_get_user")
        name = user_id.decode("utf-8") if isinstance(user_id, bytes) else user_id
        return User(name, _member(Subscription, sub.value), opted.value, unsub.value)  # type: ignore[arg-type]

    def changelog(self, user_id: Text) -> Iterator[Change]:
        """The user's Changes, oldest first."""
        items: List[Change] = []
        errors: List[BaseException] = []

        def on_change(_ctx: Optional[int], view: Any) -> int:
            try:
                items.append(Change._from_view(view.contents))
                return 0
            except BaseException as error:  # never let an exception unwind through C
                errors.append(error)
                return 1

        status = self._lib.ts_changelog(self._h, _bytes(user_id), _native.CHANGE_FN(on_change), None)
        if errors:
            raise errors[0]
        _check(status, "ts_changelog")
        return iter(items)

    def segment_count(self, segment: Segment, app_id: Optional[Text] = None) -> int:
        """How many users are in segment (app_id for FOREGROUND_PUSH_ENABLED_FOR_APP only)."""
        count = ctypes.c_uint64()
        _check(self._lib.ts_segment_count(self._h, int(segment), _bytes(app_id), ctypes.byref(count)),
               "ts_segment_count")
        return count.value

    def segment_users(self, segment: Segment, app_id: Optional[Text] = None) -> Iterator[str]:
        """The ids of the users in segment, in no particular order."""
        users: List[str] = []

        def on_user(_ctx: Optional[int], pointer: int, length: int) -> int:
            users.append(ctypes.string_at(pointer, length).decode("utf-8"))
            return 0

        _check(self._lib.ts_segment_users(self._h, int(segment), _bytes(app_id), _native.USER_FN(on_user), None),
               "ts_segment_users")
        return iter(users)

    def export_user_json(self, user_id: Text) -> Optional[Dict[str, Any]]:
        """The user's export (external_id, push_subscribe, push_tokens) parsed, or None for an
        unknown user."""
        pointer, length = ctypes.c_void_p(), ctypes.c_size_t()
        status = self._lib.ts_export_user_json(self._h, _bytes(user_id), ctypes.byref(pointer), ctypes.byref(length))
        if status == Status.NOTFOUND:
            return None
        _check(status, "ts_export_user_json")
        try:
            text = ctypes.string_at(pointer, length.value).decode("utf-8")
        finally:
            self._lib.ts_free(pointer)
        result: Dict[str, Any] = json.loads(text)
        return result

    def count(self) -> int:
        """The number of tokens in the store."""
        count = ctypes.c_uint64()
        _check(self._lib.ts_count(self._h, ctypes.byref(count)), "ts_count")
        return count.value

    def stats(self) -> Stats:
        """Counts over the store: tokens, users, quarantined, by platform and authorization, bounces."""
        stats = _native.StoreStats(version=_native.STATS_VERSION)
        _check(self._lib.ts_stats(self._h, ctypes.byref(stats)), "ts_stats")
        return Stats(stats.tokens, stats.users, stats.quarantined, tuple(stats.by_platform),
                     tuple(stats.by_authorization), tuple(stats.bounces_by_outcome), tuple(stats.bounces_by_category))

