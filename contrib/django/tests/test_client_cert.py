import json

from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory, SimpleTestCase, TestCase, override_settings

from spraywatch_django.middleware import ClientCert, client_cert_from_request

from .helpers import capture

SHA1 = "5A:0F:3C:9B:1E:22:D4:6A:7B:8C:9D:0E:1F:2A:3B:4C:5D:6E:7F:80"
SHA1_NORM = "5a0f3c9b1e22d46a7b8c9d0e1f2a3b4c5d6e7f80"
SHA256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
SUBJECT = "CN=device-0042,OU=devices,O=Example Corp,C=ES"


def wsgi(text):
    """Returns text as a WSGI server hands a header over: its UTF-8 bytes read as ISO-8859-1."""
    return text.encode("utf-8").decode("latin-1")


class ClientCertParsingTests(SimpleTestCase):
    def cert(self, remote="127.0.0.1", **headers):
        return client_cert_from_request(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))

    def test_trusted_headers(self):
        got = self.cert(HTTP_X_SSL_CLIENT_S_DN=SUBJECT, HTTP_X_SSL_CLIENT_FINGERPRINT=SHA1)
        self.assertEqual(got, ClientCert(SUBJECT, SHA1_NORM, "sha1"))

    def test_sha256(self):
        got = self.cert(HTTP_X_SSL_CLIENT_FINGERPRINT=SHA256)
        self.assertEqual(got, ClientCert(None, SHA256.lower(), "sha256"))

    def test_untrusted_peer_headers_ignored(self):
        got = self.cert(
            remote="198.51.100.23",
            HTTP_X_SSL_CLIENT_S_DN=SUBJECT,
            HTTP_X_SSL_CLIENT_FINGERPRINT=SHA1,
        )
        self.assertIsNone(got)

    def test_absent_and_empty(self):
        self.assertIsNone(self.cert())
        self.assertIsNone(self.cert(HTTP_X_SSL_CLIENT_S_DN="", HTTP_X_SSL_CLIENT_FINGERPRINT="-"))

    def test_malformed_fingerprint_dropped_subject_kept(self):
        for fp in ("xyz", "5a0f", SHA1_NORM + "00", "5a0f3c9b1e22d46a7b8c9d0e1f2a3b4c5d6e7f8g"):
            with self.subTest(fp=fp):
                got = self.cert(HTTP_X_SSL_CLIENT_S_DN=SUBJECT, HTTP_X_SSL_CLIENT_FINGERPRINT=fp)
                self.assertEqual(got, ClientCert(SUBJECT, None, None))

    def test_raw_utf8_subject_is_decoded(self):
        subject = "/C=ES/O=Example Corp/OU=devices/CN=Jos\u00e9 Garc\u00eda"
        got = self.cert(HTTP_X_SSL_CLIENT_S_DN=wsgi(subject))
        self.assertEqual(got.subject, subject)
        # nginx's RFC 2253 escaped form is ASCII and stays as written.
        escaped = "CN=Jos\\C3\\A9 Garc\\C3\\ADa,OU=devices,O=Example Corp,C=ES"
        self.assertEqual(self.cert(HTTP_X_SSL_CLIENT_S_DN=escaped).subject, escaped)

    def test_oversized_subject_dropped(self):
        self.assertIsNone(self.cert(HTTP_X_SSL_CLIENT_S_DN="CN=" + "a" * 5000))

    @override_settings(
        SPRAYWATCH_CLIENT_CERT_SUBJECT_HEADER="X-Client-DN",
        SPRAYWATCH_CLIENT_CERT_FINGERPRINT_HEADER="X-Client-SHA256",
        SPRAYWATCH_TRUSTED_PROXIES=["192.0.2.0/24"],
    )
    def test_custom_headers(self):
        got = self.cert(remote="192.0.2.10", HTTP_X_CLIENT_DN=SUBJECT, HTTP_X_CLIENT_SHA256=SHA256)
        self.assertEqual(got, ClientCert(SUBJECT, SHA256.lower(), "sha256"))
        # Default headers are not read any more; loopback is not trusted any more.
        self.assertIsNone(self.cert(remote="192.0.2.10", HTTP_X_SSL_CLIENT_S_DN=SUBJECT))
        self.assertIsNone(self.cert(HTTP_X_CLIENT_DN=SUBJECT))


class ClientCertMiddlewareTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("alice", password="pw-ok-123")

    def test_request_attribute(self):
        resp = Client().get(
            "/whoami/", HTTP_X_SSL_CLIENT_S_DN=SUBJECT, HTTP_X_SSL_CLIENT_FINGERPRINT=SHA1
        )
        self.assertEqual(
            resp.json()["cert"],
            {"subject": SUBJECT, "fingerprint": SHA1_NORM, "fingerprint_algorithm": "sha1"},
        )
        self.assertIsNone(Client().get("/whoami/").json()["cert"])

    def test_auth_line_carries_certificate(self):
        with capture() as out:
            Client().post(
                "/accounts/login/",
                {"username": "alice", "password": "nope"},
                HTTP_X_REQUEST_ID="rid-cert-1",
                HTTP_X_SSL_CLIENT_S_DN=wsgi("CN=Jos\u00e9,O=Example Corp"),
                HTTP_X_SSL_CLIENT_FINGERPRINT=SHA1,
            )
        rec = out.records[0]
        self.assertEqual(
            list(rec),
            ["timestamp", "level", "logger", "event", "request_id", "username", "ip",
             "tls_client_subject", "tls_client_fingerprint"],
        )
        self.assertEqual(rec["tls_client_subject"], "CN=Jos\u00e9,O=Example Corp")
        self.assertEqual(rec["tls_client_fingerprint"], SHA1_NORM)

    def test_auth_line_from_untrusted_peer_has_no_certificate(self):
        with capture() as out:
            Client(REMOTE_ADDR="198.51.100.23").post(
                "/api/login/",
                data=json.dumps({"username": "alice", "password": "nope"}),
                content_type="application/json",
                HTTP_X_SSL_CLIENT_S_DN=SUBJECT,
                HTTP_X_SSL_CLIENT_FINGERPRINT=SHA1,
            )
        rec = out.records[0]
        self.assertNotIn("tls_client_subject", rec)
        self.assertNotIn("tls_client_fingerprint", rec)
        self.assertNotIn(SUBJECT, out.raw)
