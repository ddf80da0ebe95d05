"""Drives libtokenstore from Python through the ctypes binding, as a service in another
language would: register, change user, bounce, read a user's tokens through the callback,
export JSON. Standard library only.

Run: TOKENSTORE_LIBRARY=/path/to/libtokenstore.so python3 -m unittest test_tokenstore
"""
import os
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenstore as ts  # noqa: E402

APNS = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
FCM = "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_python"


class TokenStoreTests(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory(dir=os.environ.get("TOKENSTORE_SCRATCH"))
        self.path = os.path.join(self._dir.name, "store")
        self.store = ts.Store(self.path, durability=ts.DURABILITY_NONE, shards=4)

    def tearDown(self):
        self.store.close()
        self._dir.cleanup()

    def test_version_matches_the_header_constants(self):
        header = os.path.join(os.path.dirname(__file__), "..", "..", "..", "include", "tokenstore.h")
        with open(header) as f:
            text = f.read()
        parts = [text.split("#define TS_VERSION_%s " % p)[1].split()[0] for p in ("MAJOR", "MINOR", "PATCH")]
        self.assertEqual(ts.version(), ".".join(parts))
        self.assertEqual(ts.strerror(ts.EINVAL), "invalid argument")

    def test_register_then_read_the_token_back(self):
        self.assertEqual(self.store.register("phone", "com.example", APNS, ts.IOS, ts.FOREGROUND,
                                             user_id="charlie", at_ms=1000), ts.OK)
        token = self.store.get("phone", "com.example")
        self.assertEqual((token.token, token.user_id, token.platform, token.authorization),
                         (APNS, "charlie", ts.IOS, ts.FOREGROUND))
        self.assertEqual((token.created_at_ms, token.updated_at_ms), (1000, 1000))
        self.assertIsNone(self.store.get("phone", "other.app"))
        self.assertEqual(self.store.count(), 1)

    def test_a_write_older_than_the_stored_one_is_stale(self):
        self.store.register("phone", "app", APNS, ts.IOS, ts.FOREGROUND, user_id="kim", at_ms=2000)
        self.assertEqual(self.store.change_user("phone", "app", None, at_ms=1500), ts.STALE)
        self.assertEqual(self.store.get("phone", "app").user_id, "kim")

    def test_change_user_moves_the_token_and_logs_both_sides(self):
        self.store.register("phone", "app", APNS, ts.IOS, ts.FOREGROUND, user_id="charlie", at_ms=1000)
        self.assertEqual(self.store.change_user("phone", "app", "kim", at_ms=2000), ts.OK)
        self.assertEqual([t.token for t in self.store.user_tokens("kim")], [APNS])
        self.assertEqual(self.store.user_tokens("charlie"), [])
        moved_out = [c for c in self.store.changelog("charlie") if c.kind == ts.CHANGE_MOVED_OUT]
        moved_in = [c for c in self.store.changelog("kim") if c.kind == ts.CHANGE_MOVED_IN]
        self.assertEqual([(c.other_user_id, c.token, c.at_ms) for c in moved_out], [("kim", APNS, 2000)])
        self.assertEqual([(c.other_user_id, c.token, c.at_ms) for c in moved_in], [("charlie", APNS, 2000)])
        # Logout: the token stays on the key, anonymous.
        self.store.change_user("phone", "app", None, at_ms=3000)
        self.assertIsNone(self.store.get("phone", "app").user_id)

    def test_bounce_removes_a_dead_token_and_keeps_a_transient_one(self):
        self.store.register("d1", "app", APNS, ts.IOS, ts.FOREGROUND, user_id="kim", at_ms=1000)
        self.store.register("d2", "app", FCM, ts.ANDROID, ts.FOREGROUND, user_id="kim", at_ms=1000)
        self.assertEqual(self.store.bounce(FCM, "429", at_ms=1100), (ts.BOUNCE_KEPT, ts.CATEGORY_TRANSIENT))
        self.assertEqual(self.store.bounce(APNS, "Unregistered", at_ms=1200, provider_ts_ms=900),
                         (ts.BOUNCE_STALE, ts.CATEGORY_DEAD))
        self.assertEqual(self.store.bounce(APNS, "Unregistered", at_ms=1300), (ts.BOUNCE_REMOVED, ts.CATEGORY_DEAD))
        self.assertEqual([t.token for t in self.store.user_tokens("kim")], [FCM])
        with self.assertRaises(ts.TokenStoreError) as raised:
            self.store.bounce(APNS, "Unregistered", at_ms=1400)
        self.assertEqual(raised.exception.status, ts.ENOTFOUND)

    def test_user_tokens_are_read_through_the_callback(self):
        for i in range(5):
            self.store.register("dev-%d" % i, "app", "tok-%d" % i, ts.ANDROID, ts.BACKGROUND, user_id="kim",
                                at_ms=100 + i)
        tokens = self.store.user_tokens("kim")
        self.assertEqual(sorted(t.token for t in tokens), ["tok-%d" % i for i in range(5)])
        self.assertTrue(all(t.user_id == "kim" and t.authorization == ts.BACKGROUND for t in tokens))
        self.assertEqual(self.store.sendable_tokens("kim", "app", ts.PUSH_VISIBLE), [])
        self.assertEqual(len(self.store.sendable_tokens("kim", "app", ts.PUSH_SILENT)), 5)
        self.assertEqual(self.store.user_tokens("nobody"), [])

    def test_export_json_has_the_push_tokens_shape(self):
        self.store.register("phone", "com.example", APNS, ts.IOS, ts.PROVISIONAL, user_id="kim", at_ms=1000)
        self.store.register("tablet", "com.example", FCM, ts.ANDROID, ts.BACKGROUND, user_id="kim", at_ms=1000)
        self.store.set_subscription("kim", ts.OPTED_IN, at_ms=1000)
        export = self.store.export_user_json("kim")
        self.assertEqual(export["external_id"], "kim")
        self.assertEqual(export["push_subscribe"], "opted_in")
        by_token = {t["token"]: t for t in export["push_tokens"]}
        self.assertEqual(by_token[APNS]["platform"], "ios")
        self.assertEqual(by_token[APNS]["device_id"], "phone")
        self.assertEqual(by_token[APNS]["app"], "com.example")
        self.assertIs(by_token[APNS]["notifications_enabled"], True)
        self.assertIs(by_token[FCM]["notifications_enabled"], False)
        self.assertIsNone(self.store.export_user_json("nobody"))

    def test_segments_and_subscription(self):
        self.store.register("d1", "app", APNS, ts.IOS, ts.FOREGROUND, user_id="ann", at_ms=10)
        self.store.register("d2", "app", FCM, ts.ANDROID, ts.BACKGROUND, user_id="bob", at_ms=10)
        self.store.set_subscription("bob", ts.UNSUBSCRIBED, at_ms=20)
        self.assertEqual(self.store.segment_count(ts.SEGMENT_FOREGROUND_PUSH_ENABLED), 1)
        self.assertEqual(self.store.segment_users(ts.SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app"), ["ann"])
        self.assertEqual(self.store.segment_users(ts.SEGMENT_UNSUBSCRIBED), ["bob"])
        self.assertEqual(self.store.user("bob"), (ts.UNSUBSCRIBED, 0, 20))
        self.assertIsNone(self.store.user("nobody"))
        stats = self.store.stats()
        self.assertEqual((stats["tokens"], stats["users"]), (2, 2))
        self.assertEqual(stats["by_platform"][ts.IOS], 1)

    def _campaign_store(self):
        """ann: foreground on app and provisional on other; bob: unsubscribed, foreground on app;
        cat: background on app; dan: quarantined on app; eve: no token at all."""
        # The quarantine option is fixed when a store is created: this one needs a store of its own.
        self.store.close()
        self.store = ts.Store(self.path + "-quarantine", durability=ts.DURABILITY_NONE, shards=4,
                              quarantine_misconfigured=1)
        self.store.register("d-ann", "app", APNS, ts.IOS, ts.FOREGROUND, user_id="ann", at_ms=10)
        self.store.register("d-ann", "other", "tok-ann-other", ts.IOS, ts.PROVISIONAL, user_id="ann", at_ms=10)
        self.store.register("d-bob", "app", FCM, ts.ANDROID, ts.FOREGROUND, user_id="bob", at_ms=10)
        self.store.set_subscription("bob", ts.UNSUBSCRIBED, at_ms=20)
        self.store.register("d-cat", "app", "tok-cat", ts.ANDROID, ts.BACKGROUND, user_id="cat", at_ms=10)
        self.store.register("d-dan", "app", "tok-dan", ts.WEB, ts.FOREGROUND, user_id="dan", at_ms=10)
        self.assertEqual(self.store.bounce("tok-dan", "MismatchSenderId", at_ms=30)[0], ts.BOUNCE_QUARANTINED)
        self.store.set_subscription("eve", ts.OPTED_IN, at_ms=10)

    def test_campaign_tokens_equal_the_segment_users_sendable_tokens(self):
        self._campaign_store()
        segments = [(ts.SEGMENT_FOREGROUND_PUSH_ENABLED, None), (ts.SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app"),
                    (ts.SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "other"),
                    (ts.SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, None), (ts.SEGMENT_SUBSCRIBED, None),
                    (ts.SEGMENT_OPTED_IN, None), (ts.SEGMENT_UNSUBSCRIBED, None)]
        streamed = 0
        for segment, segment_app in segments:
            for kind in (ts.PUSH_VISIBLE, ts.PUSH_SILENT):
                for app in ("app", "other", "unknown"):
                    one_pass = self.store.campaign_tokens(segment, app, kind, segment_app_id=segment_app)
                    composed = [t for user in self.store.segment_users(segment, segment_app)
                                for t in self.store.sendable_tokens(user, app, kind)]
                    self.assertEqual(sorted(t.token for t in one_pass), sorted(t.token for t in composed),
                                     (segment, segment_app, kind, app))
                    streamed += len(one_pass)
        self.assertGreater(streamed, 0)
        # The rules by name: bob is unsubscribed, cat is background only, dan is quarantined.
        visible = self.store.campaign_tokens(ts.SEGMENT_BACKGROUND_OR_FOREGROUND_PUSH_ENABLED, "app")
        self.assertEqual([t.token for t in visible], [APNS])
        silent = self.store.campaign_tokens(ts.SEGMENT_SUBSCRIBED, "app", ts.PUSH_SILENT)
        self.assertEqual(sorted(t.user_id for t in silent), ["ann", "cat"])
        with self.assertRaises(ts.TokenStoreError) as raised:
            self.store.campaign_tokens(ts.SEGMENT_SUBSCRIBED, "app", 3)
        self.assertEqual(raised.exception.status, ts.EINVAL)
        with self.assertRaises(ts.TokenStoreError) as raised:
            self.store.campaign_tokens(ts.SEGMENT_FOREGROUND_PUSH_ENABLED_FOR_APP, "app")
        self.assertEqual(raised.exception.status, ts.EINVAL)

    def test_get_many_equals_get_key_by_key(self):
        self._campaign_store()
        keys = [(device, app) for device in ("d-ann", "d-bob", "d-cat", "d-dan", "d-none") * 30
                for app in ("app", "other")]
        many = self.store.get_many(keys)
        self.assertEqual(len(many), len(keys))
        for (device, app), token in zip(keys, many):
            single = self.store.get(device, app)
            self.assertEqual(token is None, single is None, (device, app))
            if token is not None:
                self.assertEqual((token.device_id, token.app_id, token.token, token.user_id, token.quarantined),
                                 (single.device_id, single.app_id, single.token, single.user_id, single.quarantined))
        self.assertEqual(sum(t is not None for t in many), 5 * 30)
        self.assertEqual(self.store.get_many([]), [])
        for bad in [("", "app"), ("d-ann", None), (b"\xff", "app"), ("d" * 300, "app")]:
            with self.assertRaises(ts.TokenStoreError) as raised:
                self.store.get_many(keys[:100] + [bad])
            self.assertEqual(raised.exception.status, ts.EINVAL)

    def test_bad_arguments_raise_einval_and_change_nothing(self):
        self.store.register("phone", "app", APNS, ts.IOS, ts.FOREGROUND, user_id="kim", at_ms=10)
        bad_calls = [
            lambda: self.store.register("", "app", APNS, ts.IOS, ts.FOREGROUND, at_ms=20),
            lambda: self.store.register("phone", "app", APNS, 9, ts.FOREGROUND, at_ms=20),
            lambda: self.store.register("phone", "app", "x" * 5000, ts.IOS, ts.FOREGROUND, at_ms=20),
            lambda: self.store.register(b"\xff\xfe", "app", APNS, ts.IOS, ts.FOREGROUND, at_ms=20),
            lambda: self.store.change_user("phone", "app", "", at_ms=20),
            lambda: self.store.set_subscription("kim", 0, at_ms=20),
            lambda: self.store.segment_count(ts.SEGMENT_SUBSCRIBED, "app"),
            lambda: self.store.user_tokens(None),
        ]
        for call in bad_calls:
            with self.assertRaises(ts.TokenStoreError) as raised:
                call()
            self.assertEqual(raised.exception.status, ts.EINVAL)
        token = self.store.get("phone", "app")
        self.assertEqual((token.user_id, token.updated_at_ms), ("kim", 10))

    def test_reopen_keeps_the_data_and_a_closed_store_refuses_calls(self):
        self.store.register("phone", "app", APNS, ts.IOS, ts.FOREGROUND, user_id="kim", at_ms=10)
        self.store.close()
        with self.assertRaises(ts.TokenStoreError) as raised:
            self.store.count()
        self.assertEqual(raised.exception.status, ts.ECLOSED)
        self.store = ts.Store(self.path, ts.Options(must_exist=1))
        self.assertEqual(self.store.count(), 1)

    def test_threads_share_one_store(self):
        def work(n):
            for i in range(200):
                self.store.register("t%d-%d" % (n, i), "app", "tok-%d-%d" % (n, i), ts.WEB, ts.FOREGROUND,
                                    user_id="user-%d" % n, at_ms=i + 1)
                self.store.user_tokens("user-%d" % ((n + 1) % 4))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(self.store.count(), 800)


if __name__ == "__main__":
    unittest.main()
