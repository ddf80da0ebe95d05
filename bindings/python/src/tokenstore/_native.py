"""The ctypes side: struct layouts of include/tokenstore.h, signatures, and finding the library.

The library is found, in order: the path given to load_library(), $TOKENSTORE_LIBRARY, then
the dynamic loader's own search for libtokenstore.so.0 (LD_LIBRARY_PATH, the ldconfig cache
after `make install` into a system prefix).
"""
import ctypes
import os
import threading
from typing import Optional

__all__ = ["load_library", "library", "Options", "TokenView", "ChangeView", "StoreStats"]

OPTIONS_VERSION = 1
STATS_VERSION = 1
SONAME = "libtokenstore.so.0"


class Options(ctypes.Structure):
    """ts_options, field for field."""

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


class TokenView(ctypes.Structure):
    """ts_token_view: valid only during the callback it is passed to."""

    _fields_ = [
        ("device_id", ctypes.c_void_p), ("device_id_len", ctypes.c_size_t),
        ("app_id", ctypes.c_void_p), ("app_id_len", ctypes.c_size_t),
        ("token", ctypes.c_void_p), ("token_len", ctypes.c_size_t),
        ("user_id", ctypes.c_void_p), ("user_id_len", ctypes.c_size_t),
        ("platform", ctypes.c_int), ("authorization", ctypes.c_int),
        ("created_at_ms", ctypes.c_int64), ("updated_at_ms", ctypes.c_int64),
        ("quarantined", ctypes.c_int),
    ]


class ChangeView(ctypes.Structure):
    """ts_change_view: valid only during the callback it is passed to."""

    _fields_ = [
        ("at_ms", ctypes.c_int64), ("kind", ctypes.c_int),
        ("device_id", ctypes.c_void_p), ("device_id_len", ctypes.c_size_t),
        ("app_id", ctypes.c_void_p), ("app_id_len", ctypes.c_size_t),
        ("token", ctypes.c_void_p), ("token_len", ctypes.c_size_t),
        ("other_user_id", ctypes.c_void_p), ("other_user_id_len", ctypes.c_size_t),
        ("detail", ctypes.c_void_p), ("detail_len", ctypes.c_size_t),
    ]


class StoreStats(ctypes.Structure):
    """ts_store_stats, version 1."""

    _fields_ = [
        ("version", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
        ("tokens", ctypes.c_uint64), ("users", ctypes.c_uint64), ("quarantined", ctypes.c_uint64),
        ("by_platform", ctypes.c_uint64 * 4), ("by_authorization", ctypes.c_uint64 * 4),
        ("bounces_by_outcome", ctypes.c_uint64 * 5), ("bounces_by_category", ctypes.c_uint64 * 6),
    ]


TOKEN_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(TokenView))
CHANGE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ChangeView))
USER_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                            ctypes.POINTER(TokenView))

_P, _S, _I, _I64, _U64 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64, ctypes.c_uint64
_IP, _U64P = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_uint64)
_SIGNATURES = {
    "ts_version": (_S, []),
    "ts_strerror": (_S, [_I]),
    "ts_last_error": (_S, []),
    "ts_options_init": (None, [ctypes.POINTER(Options)]),
    "ts_open": (_I, [ctypes.POINTER(_P), _S, ctypes.POINTER(Options)]),
    "ts_close": (_I, [_P]),
    "ts_sync": (_I, [_P]),
    "ts_checkpoint": (_I, [_P]),
    "ts_register": (_I, [_P, _S, _S, _S, _I, _I, _S, _I64]),
    "ts_change_user": (_I, [_P, _S, _S, _S, _I64]),
    "ts_set_authorization": (_I, [_P, _S, _S, _I, _I64]),
    "ts_set_subscription": (_I, [_P, _S, _I, _I64]),
    "ts_bounce": (_I, [_P, _S, _S, _I64, _I64, _IP]),
    "ts_bounce_ex": (_I, [_P, _S, _S, _I64, _I64, _IP, _IP]),
    "ts_uninstall": (_I, [_P, _S, _S, _I64]),
    "ts_sweep": (_I, [_P, _I, _I64, _U64P]),
    "ts_sweep_at": (_I, [_P, _I, _I64, _I64, _U64P]),
    "ts_get": (_I, [_P, _S, _S, TOKEN_FN, _P]),
    "ts_user_tokens": (_I, [_P, _S, TOKEN_FN, _P]),
    "ts_sendable_tokens": (_I, [_P, _S, _S, _I, TOKEN_FN, _P]),
    "ts_get_user": (_I, [_P, _S, _IP, ctypes.POINTER(_I64), ctypes.POINTER(_I64)]),
    "ts_segment_count": (_I, [_P, _I, _S, _U64P]),
    "ts_segment_users": (_I, [_P, _I, _S, USER_FN, _P]),
    "ts_campaign_tokens": (_I, [_P, _I, _S, _S, _I, TOKEN_FN, _P]),
    "ts_get_many": (_I, [_P, ctypes.c_size_t, ctypes.POINTER(_S), ctypes.POINTER(_S), BATCH_FN, _P]),
    "ts_changelog": (_I, [_P, _S, CHANGE_FN, _P]),
    "ts_export_user_json": (_I, [_P, _S, ctypes.POINTER(_P), ctypes.POINTER(ctypes.c_size_t)]),
    "ts_free": (None, [_P]),
    "ts_count": (_I, [_P, _U64P]),
    "ts_stats": (_I, [_P, ctypes.POINTER(StoreStats)]),
}

_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None


def load_library(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libtokenstore and declares its functions' types; returns the ctypes library.

    With a path, loads that file (and uses it from then on); without one, loads once from
    $TOKENSTORE_LIBRARY or, failing that, through the loader's search for libtokenstore.so.0.

    Raises:
        OSError: the library cannot be found or loaded; the message says where it looked and
            what to set.
    """
    global _library
    with _lock:
        if _library is not None and path is None:
            return _library
        chosen = path or os.environ.get("TOKENSTORE_LIBRARY") or SONAME
        try:
            lib = ctypes.CDLL(os.fspath(chosen))
        except OSError as error:
            raise OSError(
                "cannot load %s (%s). Pass its path to tokenstore.load_library(), set "
                "TOKENSTORE_LIBRARY to it, or make the loader find %s: LD_LIBRARY_PATH=PREFIX/lib, "
                "or ldconfig after `make install` into a system prefix" % (chosen, error, SONAME)) from None
        for name, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(lib, name, None)
            if function is None:
                if name == "ts_last_error":  # a library older than this binding: no detail
                    continue
                raise OSError("%s has no %s: it is older than this binding" % (chosen, name))
            function.restype = restype
            function.argtypes = argtypes
        _library = lib
        return lib


def library() -> ctypes.CDLL:
    """The loaded library, loading it on first use."""
    return _library if _library is not None else load_library()
