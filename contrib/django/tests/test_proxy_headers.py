"""Proxy headers that a client sends under another spelling, or that arrive twice.

HAProxy's set-header and del-header with a plain name only touch that exact
name: X-SSL-Client-S_DN, X-SSL-Client_Fingerprint and X-Request_ID pass
through, and Django's ASGI handler (3.2, 4.2) and gunicorn < 22 file them
under the same META key as the proxy's header.
"""

import json

from django.contrib.auth import get_user_model
from django.test import RequestFactory, SimpleTestCase, TestCase, override_settings

from spraywatch_django import conf, receivers
from spraywatch_django.middleware import (
    ClientCert,
    RequestIDMiddleware,
    client_cert_from_request,
    proxy_request_id,
)

from .helpers import asgi_request, capture

PROXY_ID = "2b0c6c55-6d0e-4b53-9b0e-0c2b4f1f7a10"
VICTIM_DN = "CN=alice.dubois,OU=Devices,O=Example Corp,C=US"
VICTIM_SHA1 = "99cb1bed1c5d62d8e0b9049d186366a41ba8c486"
OWN_DN = "CN=mallory,OU=Devices,O=Example Corp,C=US"
OWN_SHA1 = "5a0f3c9b1e22d46a7b8c9d0e1f2a3b4c5d6e7f80"


def wsgi_joined(*values):
    """What gunicorn < 22 puts in META for one header name sent in several spellings."""
    return ",".join(values)


class ASGIUnderscoreHeaderTests(SimpleTestCase):
    """Django's ASGI handler: the raw header list shows every spelling."""

    def test_client_without_certificate_cannot_claim_another(self):
        # What the trusted proxy forwards for a client WITHOUT a certificate
        # that sent the underscore spellings itself: the proxy deleted only
        # the exact names.
        req = asgi_request([
            ("x-request-id", PROXY_ID),
            ("x-ssl-client-s_dn", VICTIM_DN),
            ("x-ssl-client_fingerprint", VICTIM_SHA1),
        ])
        self.assertEqual(req.META["REMOTE_ADDR"], "127.0.0.1")  # the proxy
        self.assertIsNone(client_cert_from_request(req))
        self.assertEqual(
            sorted(req.spraywatch_header_conflicts),
            ["X-SSL-Client-Fingerprint", "X-SSL-Client-S-DN"],
        )

    def test_client_with_certificate_keeps_its_own(self):
        req = asgi_request([
            ("x-ssl-client-s_dn", VICTIM_DN),
            ("x-ssl-client-s-dn", OWN_DN),  # set by the proxy
            ("x-ssl-client-fingerprint", OWN_SHA1),
        ])
        self.assertEqual(client_cert_from_request(req), ClientCert(OWN_DN, OWN_SHA1, "sha1"))
        self.assertEqual(sorted(req.spraywatch_header_conflicts), ["X-SSL-Client-S-DN"])

    def test_client_cannot_make_its_request_unjoinable(self):
        req = asgi_request([
            ("x-request_id", "anything"),  # sent by the client, left alone by the proxy
            ("x-request-id", PROXY_ID),  # set by the proxy
        ])
        self.assertEqual(proxy_request_id(req), PROXY_ID)
        self.assertEqual(sorted(req.spraywatch_header_conflicts), ["X-Request-ID"])

    def test_exact_name_twice_is_refused(self):
        req = asgi_request([("x-request-id", "a"), ("x-request-id", PROXY_ID)])
        self.assertIsNone(proxy_request_id(req))
        req = asgi_request([("x-ssl-client-s-dn", VICTIM_DN), ("x-ssl-client-s-dn", OWN_DN)])
        self.assertIsNone(client_cert_from_request(req))

    def test_forwarded_for_other_spelling_is_not_read(self):
        # Appended after the proxy's header, the client's value would be the
        # right-most hop, taken as the client.
        req = asgi_request([
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded_for", "198.51.100.1"),
        ])
        self.assertEqual(conf.client_ip(req), "203.0.113.9")
        self.assertEqual(sorted(req.spraywatch_header_conflicts), ["X-Forwarded-For"])
        # Repeats of the exact name are one list, as the RFC allows.
        req = asgi_request([("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "203.0.113.9")])
        self.assertEqual(conf.client_ip(req), "203.0.113.9")
        self.assertFalse(getattr(req, "spraywatch_header_conflicts", None))

    def test_untrusted_peer_is_not_looked_at(self):
        req = asgi_request(
            [("x-request_id", "x"), ("x-request-id", PROXY_ID)], client=("198.51.100.7", 5000)
        )
        self.assertIsNone(proxy_request_id(req))
        self.assertFalse(getattr(req, "spraywatch_header_conflicts", None))


class WSGIJoinedHeaderTests(SimpleTestCase):
    """gunicorn < 22: both spellings end up in one META value, joined with ","."""

    def test_joined_request_id_gives_local_id_and_conflict(self):
        req = RequestFactory().get("/", HTTP_X_REQUEST_ID=wsgi_joined("anything", PROXY_ID))
        self.assertIsNone(proxy_request_id(req))
        self.assertEqual(sorted(req.spraywatch_header_conflicts), ["X-Request-ID"])

    def test_joined_fingerprint_drops_the_whole_certificate(self):
        req = RequestFactory().get(
            "/",
            HTTP_X_SSL_CLIENT_S_DN=wsgi_joined(VICTIM_DN, OWN_DN),
            HTTP_X_SSL_CLIENT_FINGERPRINT=wsgi_joined(VICTIM_SHA1, OWN_SHA1),
        )
        self.assertIsNone(client_cert_from_request(req))
        self.assertEqual(sorted(req.spraywatch_header_conflicts), ["X-SSL-Client-Fingerprint"])

    def test_subject_commas_are_its_own(self):
        # A DN is full of commas: a lone forged subject under WSGI cannot be
        # told from the proxy's. Only the proxy can stop it (see the README).
        req = RequestFactory().get("/", HTTP_X_SSL_CLIENT_S_DN=VICTIM_DN)
        self.assertEqual(client_cert_from_request(req), ClientCert(VICTIM_DN, None, None))
        self.assertFalse(getattr(req, "spraywatch_header_conflicts", None))


class ConflictReportTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("alice", password="pw-ok-123")

    def test_auth_line_flags_conflict_and_logs_no_forged_value(self):
        req = asgi_request(
            [
                ("x-request-id", PROXY_ID),
                ("x-request_id", "forged-id"),
                ("x-ssl-client-s_dn", VICTIM_DN),
                ("x-ssl-client_fingerprint", VICTIM_SHA1),
            ],
            method="POST",
        )
        response = {}

        def view(request):
            receivers.on_user_login_failed(
                sender=__name__, credentials={"username": "alice"}, request=request
            )
            response["cert"] = request.spraywatch_client_cert
            return None

        from spraywatch_django.middleware import ClientCertMiddleware

        with capture() as out, capture("spraywatch_django") as warnings:
            RequestIDMiddleware(ClientCertMiddleware(view))(req)
        self.assertIsNone(response["cert"])
        rec = out.records[0]
        self.assertEqual(rec["request_id"], PROXY_ID)
        self.assertEqual(
            rec["proxy_header_conflict"],
            "X-Request-ID,X-SSL-Client-Fingerprint,X-SSL-Client-S-DN",
        )
        self.assertNotIn("tls_client_subject", rec)
        for forged in ("forged-id", VICTIM_DN, VICTIM_SHA1):
            self.assertNotIn(forged, out.raw)
            self.assertNotIn(forged, warnings.raw)
        self.assertEqual(len(warnings.records), 1)
        self.assertIn(PROXY_ID, warnings.records[0]["event"])

    def test_wsgi_line_gets_local_id(self):
        from django.test import Client

        with capture() as out, capture("spraywatch_django") as warnings:
            Client().post(
                "/api/login/",
                data=json.dumps({"username": "alice", "password": "nope"}),
                content_type="application/json",
                HTTP_X_REQUEST_ID=wsgi_joined("forged-id", PROXY_ID),
            )
        rec = out.records[0]
        self.assertTrue(rec["request_id"].startswith("local-"), rec)
        self.assertEqual(rec["proxy_header_conflict"], "X-Request-ID")
        self.assertNotIn("forged-id", out.raw)
        self.assertEqual(len(warnings.records), 1)

    @override_settings(SPRAYWATCH_REQUEST_ID_HEADER="X-Unique-ID")
    def test_configured_names_are_the_ones_checked(self):
        req = asgi_request([("x-unique_id", "forged"), ("x-unique-id", PROXY_ID)])
        self.assertEqual(proxy_request_id(req), PROXY_ID)
        self.assertEqual(sorted(req.spraywatch_header_conflicts), ["X-Unique-ID"])

    def test_clean_request_has_no_conflict_key(self):
        with capture() as out:
            from django.test import Client

            Client().post(
                "/accounts/login/", {"username": "alice", "password": "nope"},
                HTTP_X_REQUEST_ID=PROXY_ID,
            )
        self.assertNotIn("proxy_header_conflict", out.records[0])
