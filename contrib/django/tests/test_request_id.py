import json
import os
import re
import types
import unittest

from django.test import AsyncClient, Client, RequestFactory, SimpleTestCase, override_settings

from spraywatch_django import conf, middleware
from spraywatch_django.context import current_request_id
from spraywatch_django.middleware import proxy_request_id

from .helpers import asgi_request, capture

LOCAL_ID = re.compile(r"local-[0-9a-f]{32}")


def whoami(client=None, **extra):
    client = client or Client()
    resp = client.get("/whoami/", **extra)
    assert resp.status_code == 200, resp.status_code
    return resp.json()


class RequestIDMiddlewareTests(SimpleTestCase):
    def test_trusted_proxy_id_is_used(self):
        got = whoami(HTTP_X_REQUEST_ID="8d3c0f6a9e2b4d17a5c1e0f9b8a7d6c5")
        self.assertEqual(got["request_id"], "8d3c0f6a9e2b4d17a5c1e0f9b8a7d6c5")
        self.assertEqual(got["source"], "proxy")
        self.assertEqual(got["context_request_id"], got["request_id"])

    def test_trusted_proxy_ipv6_and_mapped_ipv4(self):
        for remote in ("::1", "::ffff:127.0.0.1"):
            with self.subTest(remote=remote):
                got = whoami(Client(REMOTE_ADDR=remote), HTTP_X_REQUEST_ID="rid-6")
                self.assertEqual(got["request_id"], "rid-6")

    def test_missing_header_gets_local_id(self):
        got = whoami()
        self.assertRegex(got["request_id"], LOCAL_ID)
        self.assertEqual(got["source"], "local")
        self.assertEqual(got["context_request_id"], got["request_id"])

    def test_local_ids_are_unique(self):
        ids = {whoami()["request_id"] for _ in range(5)}
        self.assertEqual(len(ids), 5)

    def test_invalid_header_values_get_local_id(self):
        bad = [
            "",
            "a b",
            "x" * 129,
            "abc,abc",  # repeated header joined by the server
            "id\n",
            "caf\u00e9",
            "a/b",
            "7F000001:A894_7F000001",
            "{}",
            "'; drop",
        ]
        for value in bad:
            with self.subTest(value=value):
                got = whoami(HTTP_X_REQUEST_ID=value)
                self.assertRegex(got["request_id"], LOCAL_ID)
                self.assertEqual(got["source"], "local")

    def test_boundary_values_accepted(self):
        for value in ("x" * 128, "a", "A.b_c-9"):
            with self.subTest(value=value):
                self.assertEqual(whoami(HTTP_X_REQUEST_ID=value)["request_id"], value)

    def test_spoofed_id_from_untrusted_peer_is_ignored(self):
        client = Client(REMOTE_ADDR="198.51.100.23")
        got = whoami(client, HTTP_X_REQUEST_ID="8d3c0f6a9e2b4d17a5c1e0f9b8a7d6c5")
        self.assertNotEqual(got["request_id"], "8d3c0f6a9e2b4d17a5c1e0f9b8a7d6c5")
        self.assertRegex(got["request_id"], LOCAL_ID)

    def test_untrusted_peer_with_forwarded_for_claiming_loopback(self):
        client = Client(REMOTE_ADDR="198.51.100.23")
        got = whoami(client, HTTP_X_REQUEST_ID="rid-1", HTTP_X_FORWARDED_FOR="127.0.0.1")
        self.assertRegex(got["request_id"], LOCAL_ID)

    @override_settings(
        SPRAYWATCH_REQUEST_ID_HEADER="X-Unique-ID", SPRAYWATCH_TRUSTED_PROXIES=["10.0.0.0/8"]
    )
    def test_custom_header_and_cidr(self):
        client = Client(REMOTE_ADDR="10.20.30.40")
        self.assertEqual(whoami(client, HTTP_X_UNIQUE_ID="u-1")["request_id"], "u-1")
        # The default header means nothing now.
        self.assertRegex(whoami(client, HTTP_X_REQUEST_ID="u-2")["request_id"], LOCAL_ID)
        # Loopback is no longer trusted.
        self.assertRegex(whoami(HTTP_X_UNIQUE_ID="u-3")["request_id"], LOCAL_ID)

    @override_settings(SPRAYWATCH_TRUSTED_PROXIES=[])
    def test_no_trusted_proxies(self):
        self.assertRegex(whoami(HTTP_X_REQUEST_ID="rid-1")["request_id"], LOCAL_ID)

    async def test_asgi_request(self):
        # Under ASGI the sync middleware and view run in a worker thread; the
        # contextvar must still reach the view.
        resp = await AsyncClient().get("/whoami/")
        got = json.loads(resp.content)
        self.assertRegex(got["request_id"], LOCAL_ID)
        self.assertEqual(got["context_request_id"], got["request_id"])

    def test_context_is_reset_after_request(self):
        whoami(HTTP_X_REQUEST_ID="rid-7")
        self.assertIsNone(current_request_id())

    def test_other_log_records_carry_request_id(self):
        with capture("tests.app") as out:
            whoami(HTTP_X_REQUEST_ID="rid-app-1")
        recs = out.records
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["logger"], "tests.app")
        self.assertEqual(recs[0]["event"], "whoami called")
        self.assertEqual(recs[0]["request_id"], "rid-app-1")
        self.assertEqual(recs[0]["level"], "warning")


class ConfTests(SimpleTestCase):
    def test_bad_trusted_proxy_is_improperly_configured(self):
        from django.core.exceptions import ImproperlyConfigured

        for value in (["not-an-ip"], "127.0.0.1"):
            with self.subTest(value=value), override_settings(SPRAYWATCH_TRUSTED_PROXIES=value):
                with self.assertRaises(ImproperlyConfigured):
                    conf.validate()

    def test_parse_address(self):
        cases = {
            "1.2.3.4": "1.2.3.4",
            " 1.2.3.4 ": "1.2.3.4",
            "1.2.3.4:5678": "1.2.3.4",
            "::1": "::1",
            "[::1]": "::1",
            "[2001:db8::1]:443": "2001:db8::1",
            "fe80::1%eth0": "fe80::1",
            "::ffff:10.0.0.1": "10.0.0.1",
            "unknown": None,
            "": None,
            None: None,
            "[::1": None,
            "1.2.3": None,
        }
        for raw, want in cases.items():
            with self.subTest(raw=raw):
                got = conf.parse_address(raw)
                self.assertEqual(None if got is None else str(got), want)


@override_settings(SPRAYWATCH_TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"])
class ClientIPTests(SimpleTestCase):
    def ip(self, remote, xff=None):
        extra = {"REMOTE_ADDR": remote}
        if xff is not None:
            extra["HTTP_X_FORWARDED_FOR"] = xff
        return conf.client_ip(RequestFactory().get("/", **extra))

    def test_table(self):
        cases = [
            # (REMOTE_ADDR, X-Forwarded-For, expected ip)
            ("198.51.100.7", None, "198.51.100.7"),
            ("198.51.100.7", "203.0.113.9", "198.51.100.7"),  # untrusted peer: XFF ignored
            ("127.0.0.1", None, "127.0.0.1"),
            ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
            # The client wrote 1.1.1.1 itself; the proxy appended the real peer.
            ("127.0.0.1", "1.1.1.1, 203.0.113.9", "203.0.113.9"),
            # Right-most untrusted hop, skipping trusted internal hops.
            ("127.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.5", "203.0.113.9"),
            # Every hop trusted: the left-most one.
            ("127.0.0.1", "10.0.0.9, 10.0.0.5", "10.0.0.9"),
            # Garbage stops the walk at the last good hop.
            ("127.0.0.1", "evil, 203.0.113.9", "203.0.113.9"),
            ("127.0.0.1", "203.0.113.9, evil", "127.0.0.1"),
            ("127.0.0.1", "  ,  ", "127.0.0.1"),
            ("127.0.0.1", "[2001:db8::7]:5555", "2001:db8::7"),
            ("::ffff:198.51.100.7", None, "198.51.100.7"),
        ]
        for remote, xff, want in cases:
            with self.subTest(remote=remote, xff=xff):
                self.assertEqual(self.ip(remote, xff), want)

    @override_settings(SPRAYWATCH_FORWARDED_FOR_HEADER="X-Real-Chain")
    def test_custom_forwarded_for_header(self):
        req = RequestFactory().get(
            "/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_CHAIN="203.0.113.4",
            HTTP_X_FORWARDED_FOR="1.1.1.1",
        )
        self.assertEqual(conf.client_ip(req), "203.0.113.4")


class UnixSocketPeerTests(SimpleTestCase):
    """A proxy on the same host may connect over a unix socket: no peer address."""

    RID = "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a"

    def wsgi_request(self):
        # gunicorn --bind unix:/run/gunicorn.sock sets REMOTE_ADDR to "".
        return RequestFactory().post(
            "/", REMOTE_ADDR="", HTTP_X_REQUEST_ID=self.RID, HTTP_X_FORWARDED_FOR="203.0.113.9"
        )

    def asgi_request(self):
        # uvicorn --uds: the scope has no client, and Django sets no REMOTE_ADDR.
        return asgi_request(
            [("x-request-id", self.RID), ("x-forwarded-for", "203.0.113.9")], client=None
        )

    def test_not_trusted_by_default(self):
        for req in (self.wsgi_request(), self.asgi_request()):
            with self.subTest(remote=req.META.get("REMOTE_ADDR")):
                self.assertIsNone(proxy_request_id(req))
                self.assertIsNone(conf.client_ip(req))

    @override_settings(SPRAYWATCH_TRUSTED_PROXIES=["unix", "127.0.0.1"])
    def test_trusted_with_unix_entry(self):
        for req in (self.wsgi_request(), self.asgi_request()):
            with self.subTest(remote=req.META.get("REMOTE_ADDR")):
                self.assertEqual(proxy_request_id(req), self.RID)
                self.assertEqual(conf.client_ip(req), "203.0.113.9")

    @override_settings(SPRAYWATCH_TRUSTED_PROXIES=["unix"])
    def test_unix_entry_trusts_no_address(self):
        req = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REQUEST_ID=self.RID)
        self.assertIsNone(proxy_request_id(req))
        # Without a chain, a unix peer's client is unknown.
        self.assertIsNone(conf.client_ip(RequestFactory().get("/", REMOTE_ADDR="")))

    def test_unix_socket_paths_are_rejected(self):
        from django.core.exceptions import ImproperlyConfigured

        for value in (["unix:/run/gunicorn.sock"], ["unix:"]):
            with self.subTest(value=value), override_settings(SPRAYWATCH_TRUSTED_PROXIES=value):
                with self.assertRaisesRegex(ImproperlyConfigured, 'write "unix"'):
                    conf.validate()


class MappedTrustedProxyTests(SimpleTestCase):
    @override_settings(SPRAYWATCH_TRUSTED_PROXIES=["::ffff:10.0.0.5", "::ffff:10.1.0.0/112"])
    def test_ipv4_mapped_entries_match_both_forms(self):
        # A dual-stack server ([::]:8000) shows REMOTE_ADDR "::ffff:10.0.0.5",
        # which is what gets copied into the setting.
        for remote in ("::ffff:10.0.0.5", "10.0.0.5", "::ffff:10.1.2.3", "10.1.255.1"):
            with self.subTest(remote=remote):
                req = RequestFactory().get("/", REMOTE_ADDR=remote)
                self.assertTrue(conf.peer_is_trusted_proxy(req))
        for remote in ("10.0.0.6", "::ffff:10.2.0.1", "::a00:5"):
            with self.subTest(remote=remote):
                req = RequestFactory().get("/", REMOTE_ADDR=remote)
                self.assertFalse(conf.peer_is_trusted_proxy(req))

    @override_settings(SPRAYWATCH_TRUSTED_PROXIES=["::ffff:10.0.0.5", "::ffff:10.1.0.0/112"])
    def test_networks_are_kept_as_ipv4(self):
        self.assertEqual(
            [str(n) for n in conf.trusted_networks()], ["10.0.0.5/32", "10.1.0.0/16"]
        )


class UntrustedPeerWarningTests(SimpleTestCase):
    def setUp(self):
        middleware._warned_untrusted_peer = False
        self.addCleanup(setattr, middleware, "_warned_untrusted_peer", False)

    def test_warned_once_per_process(self):
        # uvicorn's default --proxy-headers replaces the proxy's address with
        # the client's: every request then looks like a direct one.
        with capture("spraywatch_django") as out:
            for i in range(3):
                whoami(Client(REMOTE_ADDR="203.0.113.9"), HTTP_X_REQUEST_ID="rid-w-%d" % i)
            whoami(Client(REMOTE_ADDR="203.0.113.9"))
        self.assertEqual(len(out.records), 1, out.raw)
        self.assertEqual(out.records[0]["level"], "warning")
        self.assertIn("X-Request-ID from '203.0.113.9'", out.records[0]["event"])

    def test_no_warning_without_the_header_or_from_a_trusted_peer(self):
        with capture("spraywatch_django") as out:
            whoami(Client(REMOTE_ADDR="203.0.113.9"))
            whoami(HTTP_X_REQUEST_ID="rid-w-ok")
        self.assertEqual(out.records, [])


@override_settings(
    SPRAYWATCH_REQUEST_ID_HEADER="X-Amzn-Trace-Id", SPRAYWATCH_TRUSTED_PROXIES=["10.0.0.0/16"]
)
class ALBTraceIDTests(SimpleTestCase):
    """Behind an AWS ALB the request id is the Self (else Root) of X-Amzn-Trace-Id."""

    def rid(self, value, remote="10.0.3.7"):
        extra = {"REMOTE_ADDR": remote}
        if value is not None:
            extra["HTTP_X_AMZN_TRACE_ID"] = value
        return proxy_request_id(RequestFactory().get("/", **extra))

    def test_fields(self):
        cases = [
            ("Root=1-6751a0b1-1d84f3d73c47ec4e58577259", "1-6751a0b1-1d84f3d73c47ec4e58577259"),
            (
                "Self=1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa;Root=1-6751a0b1-1d84f3d73c47ec4e58577259;"
                "CalledFrom=app",
                "1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa",
            ),
            ("Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
             "1-67891233-abcdef012345678912345678"),
            ("Self=1-a-b;Self=1-c-d;Root=1-e-f", None),  # which Self is the ALB's?
            ("Self=;Root=1-e-f", None),
            ("Parent=53995c3f42cd8ad8", None),
            ("Root=", None),
            ("", None),
            (None, None),
        ]
        for value, want in cases:
            with self.subTest(value=value):
                self.assertEqual(self.rid(value), want)

    def test_only_from_the_load_balancer(self):
        self.assertIsNone(self.rid("Root=1-6751a0b1-1d84f3d73c47ec4e58577259", remote="198.51.100.1"))

    def test_auth_line_carries_it(self):
        request = RequestFactory().post(
            "/", REMOTE_ADDR="10.0.3.7",
            HTTP_X_AMZN_TRACE_ID="Self=1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa;Root=1-6751a0b1-x",
        )
        from spraywatch_django import receivers

        def view(req):
            receivers.on_user_login_failed(
                sender=__name__, credentials={"username": "a"}, request=req
            )

        with capture() as out:
            middleware.RequestIDMiddleware(view)(request)
        self.assertEqual(out.records[0]["request_id"], "1-6751a0b2-aaaaaaaaaaaaaaaaaaaaaaaa")


class RecordRequestIDTests(SimpleTestCase):
    def test_filter_cannot_replace_the_id_of_an_auth_line(self):
        # A filter setting record.request_id (django-log-request-id's, which
        # takes X-Request-ID from any client when so configured) must not
        # override the id the trusted proxy gave: auth lines carry their own.
        import logging

        class ClientIDFilter(logging.Filter):
            def filter(self, record):
                record.request_id = "client-chosen"
                return True

        from spraywatch_django import receivers

        request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
        request.spraywatch_request_id = "rid-proxy"
        flt = ClientIDFilter()
        with capture() as out:
            handler = logging.getLogger("spraywatch.auth").handlers[-1]
            handler.addFilter(flt)
            receivers.on_user_login_failed(
                sender=__name__, credentials={"username": "a"}, request=request
            )
        self.assertEqual(out.records[0]["request_id"], "rid-proxy")


ALB_TRACE_ID_FIELDS = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    os.pardir, os.pardir, os.pardir, "ingest", "alb", "testdata", "trace_id_fields.json",
)
ALB_DOC = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "docs", "alb.md",
)


@unittest.skipUnless(os.path.exists(ALB_TRACE_ID_FIELDS), "not in a spraywatch checkout")
class ALBTraceIDFieldTests(SimpleTestCase):
    """X-Amzn-Trace-Id read as spraywatch reads the access log's trace_id (ingest/alb TestTraceIDFields).

    The same table: fields separated by ";", each trimmed of the ASCII
    spaces around it; several Self fields give no id.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(ALB_TRACE_ID_FIELDS, encoding="utf-8") as f:
            cls.cases = json.load(f)

    def check(self, read):
        self.assertTrue(self.cases)
        for case in self.cases:
            with self.subTest(header=case["header"]):
                self.assertEqual(read(case["header"]) or "", case["id"])

    def test_package(self):
        self.check(middleware.amzn_trace_request_id)

    @unittest.skipUnless(os.path.exists(ALB_DOC), "not in a spraywatch checkout")
    def test_docs_receiver(self):
        with open(ALB_DOC, encoding="utf-8") as f:
            text = f.read()
        start = text.index("# myproject/amzn_trace.py")
        code = text[start:text.index("```", start)]
        module = types.ModuleType("amzn_trace_from_doc")
        exec(compile(code, ALB_DOC, "exec"), module.__dict__)
        self.check(module.trace_id)
