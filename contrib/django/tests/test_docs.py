"""The hand-written receiver of docs/django-logs.md, run as the document writes it,
and the auth lines the documents show, written as they say."""

import ipaddress
import os
import re
import types
import unittest
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.test import Client, TestCase, override_settings

from .helpers import capture

DOC = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir,
    "docs", "django-logs.md",
)
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "README.md")
PASSWORD = "correct horse battery staple"

# 2026-12-04T09:00:01.123456Z, the time of the documents' lines.
CREATED = 1796374801.123456


def first_block_after(path, marker, lang):
    """Returns the first fenced block of path with info string lang after marker."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index(marker)
    return re.search(r"```%s\n(.*?)```" % re.escape(lang), text[start:], re.S).group(1)


def doc_module():
    """Returns the document's accounts/auth_log.py, executed, with its receivers connected."""
    code = first_block_after(DOC, "In the Django project, `accounts/auth_log.py`", "python")
    module = types.ModuleType("accounts_auth_log_from_doc")
    exec(compile(code, DOC, "exec"), module.__dict__)
    return module


@unittest.skipUnless(os.path.exists(DOC), "not in a spraywatch checkout")
class DjangoLogsDocReceiverTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("bob", email="bob@example.com", password=PASSWORD)

    def setUp(self):
        module = doc_module()
        self.module = module
        self.formatter = module.JSONFormatter()
        self.addCleanup(user_logged_in.disconnect, module.on_login)
        self.addCleanup(user_login_failed.disconnect, module.on_login_failed)

    def post(self, client, username, password, created=None, **extra):
        with capture("accounts.auth", formatter=self.formatter, created=created) as out:
            client.post("/accounts/login/", {"username": username, "password": password}, **extra)
        return out.records

    def test_id_from_the_proxy_is_logged(self):
        recs = self.post(Client(), "bob", "x", HTTP_X_REQUEST_ID="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a")
        self.assertEqual(
            [(r["event"], r["request_id"], r["username"]) for r in recs],
            [("login_failed", "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "bob")],
        )

    def test_reference_line(self):
        # "A failed login then writes exactly the reference line": through
        # a proxy at 10.0.0.1, listed in TRUSTED_PROXIES as the document
        # says to list the proxy's address.
        want = first_block_after(DOC, "A failed login then writes exactly the reference line", "json")
        self.module.TRUSTED_PROXIES.append(ipaddress.ip_network("10.0.0.1/32"))
        with capture("accounts.auth", formatter=self.formatter, created=CREATED) as out:
            Client(REMOTE_ADDR="10.0.0.1").post(
                "/accounts/login/", {"username": "alice", "password": "x"},
                HTTP_X_REQUEST_ID="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
            )
        self.assertEqual(out.raw, want)

    def test_id_from_any_other_peer_is_not(self):
        # A client reaching Django directly must not choose the id its
        # failures join to.
        recs = self.post(
            Client(REMOTE_ADDR="198.51.100.23"), "bob", "x",
            HTTP_X_REQUEST_ID="victims-request-id",
        )
        self.assertEqual(len(recs), 1)
        self.assertRegex(recs[0]["request_id"], r"^local-[0-9a-f]{32}$")

    def test_username_with_email_username_field(self):
        # The login form passes username= even when USERNAME_FIELD is email.
        with mock.patch.object(get_user_model(), "USERNAME_FIELD", "email"):
            recs = self.post(Client(), "bob@example.com", "x")
        self.assertEqual([r["username"] for r in recs], ["bob@example.com"])

    @unittest.skipUnless(getattr(settings, "SW_TEST_WITH_AXES", False), "without django-axes")
    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_one_line_per_attempt_with_axes(self):
        client = Client()
        events = []
        for i in range(4):
            recs = self.post(client, "bob", "x", HTTP_X_REQUEST_ID="rid-doc-%d" % i)
            events.append([r["event"] for r in recs])
        self.assertEqual(
            events,
            [["login_failed"], ["user_locked_out"], ["user_locked_out"], ["user_locked_out"]],
        )


@unittest.skipUnless(os.path.exists(README), "README.md not shipped")
class ReadmeLineTests(TestCase):
    def test_readme_line_is_what_the_package_writes(self):
        # The line at the top of the README: a failed login for alice,
        # through the default trusted proxy, from a client at 10.0.0.1.
        want = first_block_after(README, "# spraywatch-django", "")
        with capture(created=CREATED) as out:
            Client().post(
                "/accounts/login/", {"username": "alice", "password": "x"},
                HTTP_X_REQUEST_ID="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
                HTTP_X_FORWARDED_FOR="10.0.0.1",
            )
        self.assertEqual(out.raw, want)
