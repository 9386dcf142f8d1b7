"""The hand-written receiver of docs/django-logs.md, run as the document writes it."""

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
PASSWORD = "correct horse battery staple"


def doc_module():
    """Returns the document's accounts/auth_log.py, executed, with its receivers connected."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    start = text.index("In the Django project, `accounts/auth_log.py`")
    code = re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)
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
        self.formatter = module.JSONFormatter()
        self.addCleanup(user_logged_in.disconnect, module.on_login)
        self.addCleanup(user_login_failed.disconnect, module.on_login_failed)

    def post(self, client, username, password, **extra):
        with capture("accounts.auth", formatter=self.formatter) as out:
            client.post("/accounts/login/", {"username": username, "password": password}, **extra)
        return out.records

    def test_id_from_the_proxy_is_logged(self):
        recs = self.post(Client(), "bob", "x", HTTP_X_REQUEST_ID="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a")
        self.assertEqual(
            [(r["event"], r["request_id"], r["username"]) for r in recs],
            [("login_failed", "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", "bob")],
        )

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
