"""The package drives libtokenstore as a Python service would: register, change user, bounce,
read, segment and export, with typed results and one exception class per status."""
import os
import re
import threading

import pytest

import tokenstore
from tokenstore import (Authorization, BounceCategory, BounceOutcome, ChangeKind, Durability, Platform, PushKind,
                        Segment, Status, Subscription, WriteOutcome)

APNS = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
FCM = "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_python"
HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "include", "tokenstore.h")


def header_constants():
    with open(HEADER) as f:
        return dict((name, int(value)) for name, value in
                    re.findall(r"#define TS_([A-Z_]+) \(?(-?\d+)\)?", f.read()))


@pytest.mark.skipif(not os.path.exists(HEADER), reason="outside the TokenStore repository")
def test_the_enums_and_versions_equal_the_header():
    constants = header_constants()
    for prefix, enum in [("PLATFORM_", Platform), ("AUTH_", Authorization), ("SUB_", Subscription),
                         ("DURABILITY_", Durability), ("BOUNCE_", BounceOutcome), ("CATEGORY_", BounceCategory),
                         ("SEGMENT_", Segment), ("PUSH_", PushKind), ("CHANGE_", ChangeKind)]:
        from_header = {name[len(prefix):]: value for name, value in constants.items() if name.startswith(prefix)}
        assert {member.name: member.value for member in enum} == from_header, enum
    statuses = {name: value for name, value in constants.items()
                if name in ("OK", "STALE", "NOTFOUND") or re.fullmatch(r"E[A-Z]+", name)}
    assert {member.name: member.value for member in Status} == statuses
    version = "%d.%d.%d" % (constants["VERSION_MAJOR"], constants["VERSION_MINOR"], constants["VERSION_PATCH"])
    assert tokenstore.version() == version
    assert tokenstore.__version__ == version
    assert tokenstore.strerror(Status.EINVAL) == "invalid argument"


def test_register_then_read_the_token_back_as_a_typed_record(store):
    assert store.register("phone", "com.example", APNS, Platform.IOS, Authorization.FOREGROUND,
                          user_id="charlie", at_ms=1000) is WriteOutcome.APPLIED
    token = store.get("phone", "com.example")
    assert token == tokenstore.Token("phone", "com.example", APNS, "charlie", Platform.IOS, Authorization.FOREGROUND,
                                     1000, 1000, False)
    assert type(token.platform) is Platform and type(token.authorization) is Authorization
    assert store.get("phone", "other.app") is None
    assert store.count() == len(store) == 1


def test_a_register_without_a_time_is_stamped_now(store):
    store.register("phone", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="kim")
    import time
    assert abs(store.get("phone", "app").created_at_ms - time.time() * 1000) < 60_000


def test_a_write_older_than_the_stored_one_is_stale(store):
    store.register("phone", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="kim", at_ms=2000)
    assert store.change_user("phone", "app", None, at_ms=1500) is WriteOutcome.STALE
    assert store.get("phone", "app").user_id == "kim"


def test_change_user_moves_the_token_and_logs_both_sides(store):
    store.register("phone", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="charlie", at_ms=1000)
    assert store.change_user("phone", "app", "kim", at_ms=2000) is WriteOutcome.APPLIED
    assert [t.token for t in store.user_tokens("kim")] == [APNS]
    assert list(store.user_tokens("charlie")) == []
    moved_out = [c for c in store.changelog("charlie") if c.kind is ChangeKind.MOVED_OUT]
    moved_in = [c for c in store.changelog("kim") if c.kind is ChangeKind.MOVED_IN]
    assert [(c.other_user_id, c.token, c.at_ms) for c in moved_out] == [("kim", APNS, 2000)]
    assert [(c.other_user_id, c.token, c.at_ms) for c in moved_in] == [("charlie", APNS, 2000)]
    # Logout: the token stays on the key, anonymous.
    store.change_user("phone", "app", None, at_ms=3000)
    assert store.get("phone", "app").user_id is None


def test_bounce_removes_a_dead_token_and_keeps_a_transient_one(store):
    store.register("d1", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="kim", at_ms=1000)
    store.register("d2", "app", FCM, Platform.ANDROID, Authorization.FOREGROUND, user_id="kim", at_ms=1000)
    assert store.bounce(FCM, "429", at_ms=1100) == tokenstore.Bounce(BounceOutcome.KEPT, BounceCategory.TRANSIENT)
    outcome, category = store.bounce(APNS, "Unregistered", at_ms=1200, provider_ts_ms=900)
    assert (outcome, category) == (BounceOutcome.STALE, BounceCategory.DEAD)
    removed = store.bounce(APNS, "Unregistered", at_ms=1300)
    assert removed.outcome is BounceOutcome.REMOVED and removed.category is BounceCategory.DEAD
    assert [t.token for t in store.user_tokens("kim")] == [FCM]
    with pytest.raises(tokenstore.NotFoundError) as raised:
        store.bounce(APNS, "Unregistered", at_ms=1400)
    assert raised.value.status is Status.NOTFOUND and raised.value.function == "ts_bounce_ex"
    assert isinstance(raised.value, LookupError)


def test_reads_return_iterators_over_copies(store):
    for i in range(5):
        store.register("dev-%d" % i, "app", "tok-%d" % i, Platform.ANDROID, Authorization.BACKGROUND,
                       user_id="kim", at_ms=100 + i)
    tokens = store.user_tokens("kim")
    assert iter(tokens) is tokens
    tokens = list(tokens)
    assert sorted(t.token for t in tokens) == ["tok-%d" % i for i in range(5)]
    assert all(t.user_id == "kim" and t.authorization is Authorization.BACKGROUND for t in tokens)
    assert list(store.sendable_tokens("kim", "app", PushKind.VISIBLE)) == []
    assert len(list(store.sendable_tokens("kim", "app", PushKind.SILENT))) == 5
    assert list(store.user_tokens("nobody")) == []


def test_export_json_has_the_push_tokens_shape(store):
    store.register("phone", "com.example", APNS, Platform.IOS, Authorization.PROVISIONAL, user_id="kim", at_ms=1000)
    store.register("tablet", "com.example", FCM, Platform.ANDROID, Authorization.BACKGROUND, user_id="kim",
                   at_ms=1000)
    store.set_subscription("kim", Subscription.OPTED_IN, at_ms=1000)
    export = store.export_user_json("kim")
    assert (export["external_id"], export["push_subscribe"]) == ("kim", "opted_in")
    by_token = {t["token"]: t for t in export["push_tokens"]}
    assert (by_token[APNS]["platform"], by_token[APNS]["device_id"], by_token[APNS]["app"]) == (
        "ios", "phone", "com.example")
    assert by_token[APNS]["notifications_enabled"] is True
    assert by_token[FCM]["notifications_enabled"] is False
    assert store.export_user_json("nobody") is None


def test_segments_subscription_and_stats(store):
    store.register("d1", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="ann", at_ms=10)
    store.register("d2", "app", FCM, Platform.ANDROID, Authorization.BACKGROUND, user_id="bob", at_ms=10)
    store.set_subscription("bob", Subscription.UNSUBSCRIBED, at_ms=20)
    assert store.segment_count(Segment.FOREGROUND_PUSH_ENABLED) == 1
    assert list(store.segment_users(Segment.FOREGROUND_PUSH_ENABLED_FOR_APP, "app")) == ["ann"]
    assert list(store.segment_users(Segment.UNSUBSCRIBED)) == ["bob"]
    assert store.user("bob") == tokenstore.User("bob", Subscription.UNSUBSCRIBED, 0, 20)
    assert store.user("nobody") is None
    stats = store.stats()
    assert (stats.tokens, stats.users, stats.by_platform[Platform.IOS]) == (2, 2, 1)


@pytest.fixture
def campaign_store(tmp_path):
    """ann: foreground on app and provisional on other; bob: unsubscribed, foreground on app;
    cat: background on app; dan: quarantined on app; eve: no token at all."""
    # The quarantine option is fixed when a store is created: this one needs a store of its own.
    with tokenstore.Store(str(tmp_path / "quarantine"), durability=Durability.NONE, shards=4,
                          quarantine_misconfigured=1) as store:
        store.register("d-ann", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="ann", at_ms=10)
        store.register("d-ann", "other", "tok-ann-other", Platform.IOS, Authorization.PROVISIONAL, user_id="ann",
                       at_ms=10)
        store.register("d-bob", "app", FCM, Platform.ANDROID, Authorization.FOREGROUND, user_id="bob", at_ms=10)
        store.set_subscription("bob", Subscription.UNSUBSCRIBED, at_ms=20)
        store.register("d-cat", "app", "tok-cat", Platform.ANDROID, Authorization.BACKGROUND, user_id="cat", at_ms=10)
        store.register("d-dan", "app", "tok-dan", Platform.WEB, Authorization.FOREGROUND, user_id="dan", at_ms=10)
        assert store.bounce("tok-dan", "MismatchSenderId", at_ms=30).outcome is BounceOutcome.QUARANTINED
        store.set_subscription("eve", Subscription.OPTED_IN, at_ms=10)
        yield store


def test_campaign_tokens_equal_the_segment_users_sendable_tokens(campaign_store):
    store = campaign_store
    segments = [(Segment.FOREGROUND_PUSH_ENABLED, None), (Segment.FOREGROUND_PUSH_ENABLED_FOR_APP, "app"),
                (Segment.FOREGROUND_PUSH_ENABLED_FOR_APP, "other"),
                (Segment.BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, None), (Segment.SUBSCRIBED, None),
                (Segment.OPTED_IN, None), (Segment.UNSUBSCRIBED, None)]
    streamed = 0
    for segment, segment_app in segments:
        for kind in PushKind:
            for app in ("app", "other", "unknown"):
                one_pass = list(store.campaign_tokens(segment, app, kind, segment_app_id=segment_app))
                composed = [t for user in store.segment_users(segment, segment_app)
                            for t in store.sendable_tokens(user, app, kind)]
                assert sorted(t.token for t in one_pass) == sorted(t.token for t in composed), (segment, kind, app)
                streamed += len(one_pass)
    assert streamed > 0
    # The rules by name: bob is unsubscribed, cat is background only, dan is quarantined.
    visible = store.campaign_tokens(Segment.BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, "app")
    assert [t.token for t in visible] == [APNS]
    silent = store.campaign_tokens(Segment.SUBSCRIBED, "app", PushKind.SILENT)
    assert sorted(t.user_id for t in silent) == ["ann", "cat"]
    with pytest.raises(tokenstore.InvalidArgumentError):
        store.campaign_tokens(Segment.SUBSCRIBED, "app", 3)
    with pytest.raises(tokenstore.InvalidArgumentError):
        store.campaign_tokens(Segment.FOREGROUND_PUSH_ENABLED_FOR_APP, "app")


def test_get_many_equals_get_key_by_key(campaign_store):
    store = campaign_store
    keys = [(device, app) for device in ("d-ann", "d-bob", "d-cat", "d-dan", "d-none") * 30
            for app in ("app", "other")]
    many = store.get_many(keys)
    assert len(many) == len(keys)
    for key, token in zip(keys, many):
        assert token == store.get(*key), key
    assert sum(t is not None for t in many) == 5 * 30
    assert store.get_many([]) == []
    for bad in [("", "app"), ("d-ann", None), (b"\xff", "app"), ("d" * 300, "app")]:
        with pytest.raises(tokenstore.InvalidArgumentError):
            store.get_many(keys[:100] + [bad])


def test_bad_arguments_raise_invalid_argument_and_change_nothing(store):
    store.register("phone", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="kim", at_ms=10)
    bad_calls = [
        lambda: store.register("", "app", APNS, Platform.IOS, Authorization.FOREGROUND, at_ms=20),
        lambda: store.register("phone", "app", APNS, 9, Authorization.FOREGROUND, at_ms=20),
        lambda: store.register("phone", "app", "x" * 5000, Platform.IOS, Authorization.FOREGROUND, at_ms=20),
        lambda: store.register(b"\xff\xfe", "app", APNS, Platform.IOS, Authorization.FOREGROUND, at_ms=20),
        lambda: store.change_user("phone", "app", "", at_ms=20),
        lambda: store.set_subscription("kim", 0, at_ms=20),
        lambda: store.segment_count(Segment.SUBSCRIBED, "app"),
        lambda: store.user_tokens(None),
    ]
    for call in bad_calls:
        with pytest.raises(tokenstore.InvalidArgumentError) as raised:
            call()
        assert raised.value.status is Status.EINVAL and isinstance(raised.value, ValueError)
    token = store.get("phone", "app")
    assert (token.user_id, token.updated_at_ms) == ("kim", 10)


def test_an_unknown_option_name_is_refused(path):
    with pytest.raises(TypeError, match="bogus"):
        tokenstore.Store(path, bogus=3)
    assert not os.path.exists(path)


def test_every_status_has_its_own_exception_under_error():
    classes = {status: tokenstore.errors.error_for(status) for status in Status if status < 0}
    assert len(set(classes.values())) == len(classes)
    assert all(issubclass(cls, tokenstore.Error) and cls is not tokenstore.Error for cls in classes.values())


def test_reopen_keeps_the_data_and_a_closed_store_refuses_calls(path):
    store = tokenstore.Store(path, durability=Durability.NONE)
    store.register("phone", "app", APNS, Platform.IOS, Authorization.FOREGROUND, user_id="kim", at_ms=10)
    store.close()
    store.close()  # a second close is a no-op
    assert store.closed
    with pytest.raises(tokenstore.ClosedError):
        store.count()
    with tokenstore.Store(path, must_exist=1) as reopened:
        assert reopened.count() == 1
    with pytest.raises(tokenstore.NotFoundError):
        tokenstore.Store(path + "-absent", must_exist=1)


def test_a_second_open_of_a_store_is_locked_with_the_detail(store, path):
    with pytest.raises(tokenstore.LockedError) as raised:
        tokenstore.Store(path)
    assert raised.value.status is Status.ELOCKED
    assert "LOCK" in raised.value.detail


def test_threads_share_one_store(store):
    def work(n):
        for i in range(200):
            store.register("t%d-%d" % (n, i), "app", "tok-%d-%d" % (n, i), Platform.WEB, Authorization.FOREGROUND,
                           user_id="user-%d" % n, at_ms=i + 1)
            list(store.user_tokens("user-%d" % ((n + 1) % 4)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 800
