"""The lines of ingest/django/testdata/spraywatch_django.jsonl, as this package writes them.

spraywatch's Go reader is tested on that file (ingest/django's
TestSpraywatchDjangoLines): usernames a client can choose (quotes, controls,
separators, lone surrogates, a 300 000-character name) must read back as
written, or as the formatter documents. This test keeps the file equal to
what the package writes; after a deliberate change of the output, rewrite it
with

    SPRAYWATCH_DJANGO_WRITE_FIXTURE=1 /usr/bin/python3 contrib/django/runtests.py --no-axes tests.test_go_fixture
"""

import logging
import os

from django.test import RequestFactory, SimpleTestCase, override_settings

from spraywatch_django import receivers

from .helpers import capture

FIXTURE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    os.pardir, os.pardir, os.pardir, "ingest", "django", "testdata", "spraywatch_django.jsonl",
)

# 2026-12-04T09:00:01.123456Z
CREATED = 1796374801.123456

# Keep in step with the Go test's expectations.
NAMES = [
    'a"b',
    "back\\slash",
    "line1\nline2",
    "cr\rlf",
    "\x1b[31mred",
    "nul\x00byte",
    "Jos\u00e9",
    "sep\u2028arator",
    "del\x7fc1\x85",
    "bom\ufeffx",
    "nonchar\uffffx",
    "astral\U0001F600",
    "pair\ud83d\ude00",
    "lone\ud800",
    "x" * 300000,
]


def render() -> str:
    factory = RequestFactory()
    with capture(created=CREATED) as out, override_settings(SPRAYWATCH_TRUSTED_PROXIES=["127.0.0.1"]):
        for i, name in enumerate(NAMES):
            request = factory.post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
            request.spraywatch_request_id = "rid-go-%02d" % i
            receivers.on_user_login_failed(
                sender=__name__, credentials={"username": name}, request=request
            )
        request = factory.post("/", REMOTE_ADDR="198.51.100.23")
        request.spraywatch_request_id = "rid-go-locked"
        receivers.log_auth_event(receivers.USER_LOCKED_OUT, logging.WARNING, request, "erin")
        request = factory.post("/", REMOTE_ADDR="127.0.0.1")
        request.spraywatch_request_id = "rid-go-inactive"
        receivers.log_auth_event(
            receivers.LOGIN_FAILED, logging.WARNING, request, "frank", reason="inactive"
        )
        request = factory.post("/", REMOTE_ADDR="127.0.0.1")
        request.spraywatch_request_id = "local-0123456789abcdef0123456789abcdef"
        request.spraywatch_header_conflicts = {"X-Request-ID"}
        receivers.log_auth_event(receivers.LOGIN_FAILED, logging.WARNING, request, "gina")
        request = factory.post("/", REMOTE_ADDR="127.0.0.1")
        request.spraywatch_request_id = "rid-go-ok"
        receivers.log_auth_event(receivers.LOGIN_SUCCEEDED, logging.INFO, request, "FRANK")
    return out.raw


class GoFixtureTests(SimpleTestCase):
    def test_fixture_is_what_the_package_writes(self):
        got = render()
        if os.environ.get("SPRAYWATCH_DJANGO_WRITE_FIXTURE"):
            with open(FIXTURE, "w", encoding="utf-8", newline="") as f:
                f.write(got)
        if not os.path.exists(FIXTURE):
            self.skipTest("not in a spraywatch checkout: %s" % FIXTURE)
        with open(FIXTURE, encoding="utf-8", newline="") as f:
            want = f.read()
        self.assertEqual(got.splitlines(), want.splitlines(), "rewrite it as the module says")
        self.assertEqual(got, want)
