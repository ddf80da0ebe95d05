"""Failures raise the status's own exception, carrying the library's detail (ts_last_error):
the file, the field or the limit, never a token or an id."""
import os
import threading

import pytest

import tokenstore
from tokenstore import Authorization, Platform, Status


def test_a_bad_option_names_the_field_and_its_range(path):
    with pytest.raises(tokenstore.InvalidArgumentError) as raised:
        tokenstore.Store(path, shards=3)
    assert raised.value.status is Status.EINVAL and raised.value.function == "ts_open"
    assert "ts_options.shards" in raised.value.detail and "power of two" in raised.value.detail
    assert raised.value.detail in str(raised.value)


def test_a_damaged_shard_file_is_named(path):
    with tokenstore.Store(path, shards=2) as store:
        store.register("phone", "app", "tok", Platform.IOS, Authorization.FOREGROUND, user_id="kim", at_ms=1)
        store.checkpoint()
    # Only the shards a write reached have files.
    heap = max(name for name in os.listdir(path) if name.endswith(".heap"))
    with open(os.path.join(path, heap), "r+b") as f:
        f.write(b"\xa5" * 16)
    with pytest.raises(tokenstore.CorruptError) as raised:
        tokenstore.Store(path)
    assert raised.value.detail.startswith(heap + ": ")


def test_the_detail_never_holds_a_token_or_an_id(store):
    failures = [
        lambda: store.register("secret-device", "app", "S" * 5000, Platform.IOS, Authorization.FOREGROUND,
                               user_id="secret-user", at_ms=1),
        lambda: store.register(b"secret-\xff", "app", "tok", Platform.IOS, Authorization.FOREGROUND, at_ms=1),
        lambda: store.bounce("secret-token", "Unregistered", at_ms=1),
        lambda: store.change_user("secret-device", "app", "u" * 300, at_ms=1),
    ]
    for call in failures:
        with pytest.raises(tokenstore.Error) as raised:
            call()
        assert raised.value.detail, call
        assert "secret" not in raised.value.detail and "SSSS" not in raised.value.detail
        assert "secret" not in str(raised.value)


def test_each_thread_sees_its_own_last_error(path):
    details = {}

    def fail(name, **options):
        with pytest.raises(tokenstore.InvalidArgumentError):
            tokenstore.Store(path, **options)
        details[name] = tokenstore.last_error()

    threads = [threading.Thread(target=fail, args=("shards",), kwargs={"shards": 3}),
               threading.Thread(target=fail, args=("changelog",), kwargs={"changelog_limit": 0})]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "ts_options.shards" in details["shards"]
    assert "ts_options.changelog_limit" in details["changelog"]
    fresh = []
    thread = threading.Thread(target=lambda: fresh.append(tokenstore.last_error()))
    thread.start()
    thread.join()
    assert fresh == [""]


def test_a_library_that_cannot_be_loaded_says_what_to_set(tmp_path):
    with pytest.raises(OSError) as raised:
        tokenstore.load_library(str(tmp_path / "libtokenstore.so.0"))
    assert "TOKENSTORE_LIBRARY" in str(raised.value) and "LD_LIBRARY_PATH" in str(raised.value)
    assert tokenstore.version()  # the library already loaded is still in use
