import json
import re
import unittest
from unittest import mock

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_login_failed
from django.test import Client, RequestFactory, TestCase, override_settings

from spraywatch_django import receivers
from spraywatch_django.middleware import LOCAL_PREFIX

from .helpers import capture

# The reference line shape: keys in this order, compact separators.
REFERENCE = re.compile(
    r'\{"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z","level":"(info|warning)",'
    r'"logger":"spraywatch\.auth","event":"(login_succeeded|login_failed|user_locked_out)",'
    r'"request_id":"[A-Za-z0-9._-]{1,128}","username":"[^"\\]*","ip":"[0-9a-f.:]+"\}'
)

PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3-wrong"


def api_login(client, username, password, **extra):
    return client.post(
        "/api/login/",
        data=json.dumps({"username": username, "password": password}),
        content_type="application/json",
        **extra,
    )


class AuthLineTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("alice", password=PASSWORD)

    def test_failed_login_reference_line(self):
        with capture() as out:
            resp = Client().post(
                "/accounts/login/",
                {"username": "alice", "password": WRONG},
                HTTP_X_REQUEST_ID="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
            )
        self.assertEqual(resp.status_code, 200)  # the form is shown again
        self.assertEqual(len(out.lines), 1, out.raw)
        self.assertRegex(out.lines[0], REFERENCE)
        rec = out.records[0]
        self.assertEqual(
            list(rec), ["timestamp", "level", "logger", "event", "request_id", "username", "ip"]
        )
        self.assertEqual(rec["level"], "warning")
        self.assertEqual(rec["logger"], "spraywatch.auth")
        self.assertEqual(rec["event"], "login_failed")
        self.assertEqual(rec["request_id"], "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a")
        self.assertEqual(rec["username"], "alice")
        self.assertEqual(rec["ip"], "127.0.0.1")
        self.assertNotIn(WRONG, out.raw)

    def test_successful_login_line(self):
        with capture() as out:
            resp = Client().post(
                "/accounts/login/",
                {"username": "alice", "password": PASSWORD},
                HTTP_X_REQUEST_ID="rid-ok-1",
                HTTP_X_FORWARDED_FOR="203.0.113.50",
            )
        self.assertEqual(resp.status_code, 302)
        self.assertEqual(len(out.lines), 1, out.raw)
        self.assertRegex(out.lines[0], REFERENCE)
        rec = out.records[0]
        self.assertEqual(rec["event"], "login_succeeded")
        self.assertEqual(rec["level"], "info")
        self.assertEqual(rec["username"], "alice")
        self.assertEqual(rec["request_id"], "rid-ok-1")
        self.assertEqual(rec["ip"], "203.0.113.50")
        self.assertNotIn(PASSWORD, out.raw)

    def test_unknown_user_is_logged(self):
        with capture() as out:
            api_login(Client(), "mallory", WRONG, HTTP_X_REQUEST_ID="rid-u")
        rec = out.records[0]
        self.assertEqual((rec["event"], rec["username"]), ("login_failed", "mallory"))

    def test_spoofed_request_id_never_reaches_the_line(self):
        client = Client(REMOTE_ADDR="198.51.100.23")
        with capture() as out:
            api_login(
                client, "alice", WRONG,
                HTTP_X_REQUEST_ID="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
                HTTP_X_FORWARDED_FOR="10.0.0.1",
            )
        rec = out.records[0]
        self.assertTrue(rec["request_id"].startswith(LOCAL_PREFIX), rec)
        self.assertNotIn("6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a", out.raw)
        self.assertEqual(rec["ip"], "198.51.100.23")

    def test_forwarded_for_from_trusted_proxy(self):
        with capture() as out:
            api_login(
                Client(), "alice", WRONG,
                HTTP_X_REQUEST_ID="rid-x",
                HTTP_X_FORWARDED_FOR="10.66.66.66, 203.0.113.8",
            )
        self.assertEqual(out.records[0]["ip"], "203.0.113.8")

    def test_json_escaping_of_usernames(self):
        names = [
            'a"b',
            "back\\slash",
            "line1\nline2",
            "cr\rlf",
            "tab\there",
            "\x1b[31mred",
            "nul\x00byte",
            "Jos\u00e9 Garc\u00eda",
            "\u7530\u4e2d",
            "snow\u2603man",
            "sep\u2028arator",
            "del\x7fc1\x85",
            "</script>",
        ]
        client = Client()
        with capture() as out:
            for i, name in enumerate(names):
                api_login(client, name, WRONG, HTTP_X_REQUEST_ID="rid-esc-%d" % i)
        lines = out.lines
        self.assertEqual(len(lines), len(names), out.raw)
        for name, line in zip(names, lines):
            with self.subTest(name=name):
                self.assertEqual(json.loads(line)["username"], name)
                self.assertIsNone(re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line), line)
        # Non-ASCII text stays readable UTF-8, not \u escapes.
        self.assertIn("Jos\u00e9 Garc\u00eda", out.raw)
        self.assertIn("\u7530\u4e2d", out.raw)
        self.assertIn('"username":"a\\"b"', out.raw)
        self.assertIn('"username":"line1\\nline2"', out.raw)

    def test_lone_surrogate_does_not_lose_the_line(self):
        # No database takes such a name (so neither would django-axes), but a
        # custom backend may still signal it.
        request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
        with capture() as out:
            receivers.on_user_login_failed(
                sender=__name__, credentials={"username": "bad\ud800name"}, request=request
            )
        self.assertIn('"username":"bad\ufffdname"', out.raw)
        out.raw.encode("utf-8")  # writable to a UTF-8 file

    def test_adjacent_lone_surrogates_are_not_read_back_as_a_pair(self):
        # As \ud83d\ude00 escapes they would be read back (by Python's and
        # Go's decoders) as U+1F600, another username.
        request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
        with capture() as out:
            for name in ("pair\ud83d\ude00", "pair\U0001F600"):
                receivers.on_user_login_failed(
                    sender=__name__, credentials={"username": name}, request=request
                )
        names = [r["username"] for r in out.records]
        self.assertEqual(names, ["pair\ufffd\ufffd", "pair\U0001F600"])
        # The hmac pseudonym is the one of the name as logged.
        from spraywatch_django.username import hmac_username

        self.assertEqual(hmac_username(b"k", "pair\ud83d\ude00"), hmac_username(b"k", names[0]))

    def test_username_field_from_user_model(self):
        User = get_user_model()
        request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.5")
        with mock.patch.object(User, "USERNAME_FIELD", "email"), capture() as out:
            authenticate(request, email="bob@example.com", username="decoy", password=WRONG)
        rec = out.records[0]
        self.assertEqual(rec["username"], "bob@example.com")
        self.assertEqual(rec["ip"], "198.51.100.5")
        self.assertTrue(rec["request_id"].startswith(LOCAL_PREFIX))
        self.assertNotIn(WRONG, out.raw)

    def test_authenticate_without_request(self):
        # As Django sends it when authenticate() is called without a request.
        with capture() as out:
            user_login_failed.send(
                sender=__name__,
                credentials={"username": "alice", "password": "********************"},
                request=None,
            )
        rec = out.records[0]
        self.assertEqual(rec["event"], "login_failed")
        self.assertTrue(rec["request_id"].startswith(LOCAL_PREFIX))
        self.assertNotIn("ip", rec)

    def test_logging_settings_snippet_writes_file(self):
        path = settings.SW_TEST_AUTH_LOG
        with open(path, "rb") as f:
            f.seek(0, 2)
            start = f.tell()
        Client().post(
            "/accounts/login/", {"username": "alice", "password": WRONG},
            HTTP_X_REQUEST_ID="rid-file-1",
        )
        with open(path, "rb") as f:
            f.seek(start)
            new = f.read().decode("utf-8").splitlines()
        self.assertEqual(len(new), 1, new)
        self.assertRegex(new[0], REFERENCE)
        self.assertEqual(json.loads(new[0])["request_id"], "rid-file-1")


class UsernameModeTests(TestCase):
    KEY = "k3y-for-tests"

    def failed_line(self, username="alice"):
        with capture() as out:
            api_login(Client(), username, WRONG, HTTP_X_REQUEST_ID="rid-mode")
        self.assertEqual(len(out.lines), 1, out.raw)
        return out

    def test_hmac_known_answer(self):
        from spraywatch_django.username import hmac_username

        # HMAC-SHA256 test vector ("key", "The quick brown fox jumps over the lazy dog").
        self.assertEqual(
            hmac_username(b"key", "The quick brown fox jumps over the lazy dog"),
            "hmac-sha256:f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
        )

    def test_hmac_mode(self):
        import hashlib
        import hmac

        for name in ("alice", "Jos\u00e9"):
            with self.subTest(name=name), override_settings(
                SPRAYWATCH_USERNAME_MODE="hmac", SPRAYWATCH_USERNAME_HMAC_KEY=self.KEY
            ):
                out = self.failed_line(name)
                want = "hmac-sha256:" + hmac.new(
                    self.KEY.encode(), name.encode("utf-8"), hashlib.sha256
                ).hexdigest()
                self.assertEqual(out.records[0]["username"], want)
                self.assertNotIn(name, out.raw)

    def test_hmac_key_file_matches_key_setting(self):
        import tempfile

        with override_settings(
            SPRAYWATCH_USERNAME_MODE="hmac", SPRAYWATCH_USERNAME_HMAC_KEY=self.KEY
        ):
            direct = self.failed_line().records[0]["username"]
        with tempfile.NamedTemporaryFile("wb", suffix=".key") as f:
            f.write(self.KEY.encode() + b"\n")
            f.flush()
            with override_settings(
                SPRAYWATCH_USERNAME_MODE="hmac", SPRAYWATCH_USERNAME_HMAC_KEY_FILE=f.name
            ):
                from_file = self.failed_line().records[0]["username"]
        self.assertEqual(direct, from_file)
        with override_settings(
            SPRAYWATCH_USERNAME_MODE="hmac", SPRAYWATCH_USERNAME_HMAC_KEY="other"
        ):
            self.assertNotEqual(self.failed_line().records[0]["username"], direct)

    def test_hmac_without_key_fails_closed(self):
        from django.core.exceptions import ImproperlyConfigured

        from spraywatch_django import conf

        with override_settings(SPRAYWATCH_USERNAME_MODE="hmac"):
            with self.assertRaises(ImproperlyConfigured):
                conf.validate()
        with override_settings(
            SPRAYWATCH_USERNAME_MODE="hmac", SPRAYWATCH_USERNAME_HMAC_KEY_FILE="/nonexistent/k"
        ):
            with self.assertRaises(ImproperlyConfigured):
                conf.validate()

    def test_omit_mode(self):
        with override_settings(SPRAYWATCH_USERNAME_MODE="omit"):
            out = self.failed_line("alice-secret-name")
        rec = out.records[0]
        self.assertNotIn("username", rec)
        self.assertNotIn("alice-secret-name", out.raw)
        self.assertEqual(rec["event"], "login_failed")
        self.assertEqual(rec["request_id"], "rid-mode")

    def test_unknown_mode_rejected(self):
        from django.core.exceptions import ImproperlyConfigured

        from spraywatch_django import conf

        with override_settings(SPRAYWATCH_USERNAME_MODE="sha1"):
            with self.assertRaises(ImproperlyConfigured):
                conf.validate()


AXES = getattr(settings, "SW_TEST_WITH_AXES", False)


@unittest.skipUnless(AXES, "django-axes is not installed (or runtests.py --no-axes)")
class AxesLockoutTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("carol", password=PASSWORD)
        get_user_model().objects.create_user("erin", password=PASSWORD)

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_lockout_line(self):
        client = Client()
        with capture() as out:
            for i in range(3):
                client.post(
                    "/accounts/login/",
                    {"username": "carol", "password": WRONG},
                    HTTP_X_REQUEST_ID="rid-lock-%d" % i,
                    HTTP_X_FORWARDED_FOR="203.0.113.77",
                )
        for line in out.lines:
            self.assertRegex(line, REFERENCE)
        self.assertEqual(
            [(r["request_id"], r["event"]) for r in out.records],
            [
                ("rid-lock-0", "login_failed"),
                # The attempt that reaches the limit and the ones refused
                # while locked out.
                ("rid-lock-1", "user_locked_out"),
                ("rid-lock-2", "user_locked_out"),
            ],
        )
        first = out.events("user_locked_out")[0]
        self.assertEqual(first["username"], "carol")
        self.assertEqual(first["level"], "warning")
        self.assertEqual(first["ip"], "203.0.113.77")

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_each_attempt_is_one_line(self):
        # Two lines under one request id would make spraywatch join one of
        # them and report the other as an app_only failure without the
        # certificate (and count the attempt twice). runtests.py lists
        # spraywatch_django before axes in INSTALLED_APPS, the order in
        # which our receiver would otherwise run before axes'.
        client = Client()
        with capture() as out:
            for i in range(5):
                client.post(
                    "/accounts/login/",
                    {"username": "erin", "password": WRONG},
                    HTTP_X_REQUEST_ID="rid-once-%d" % i,
                )
        by_rid = {}
        for r in out.records:
            by_rid.setdefault(r["request_id"], []).append(r["event"])
        self.assertEqual(
            by_rid,
            {
                "rid-once-0": ["login_failed"],
                **{"rid-once-%d" % i: ["user_locked_out"] for i in range(1, 5)},
            },
        )

    @override_settings(AXES_FAILURE_LIMIT=2, AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT=False)
    def test_each_attempt_is_one_line_without_cool_off_reset(self):
        # Then AxesBackend refuses a locked-out attempt itself
        # (request.axes_locked_out) and axes' handler only signals it.
        client = Client()
        with capture() as out:
            for i in range(4):
                api_login(client, "erin", WRONG, HTTP_X_REQUEST_ID="rid-nr-%d" % i)
        self.assertEqual(
            [(r["request_id"], r["event"]) for r in out.records],
            [("rid-nr-0", "login_failed")]
            + [("rid-nr-%d" % i, "user_locked_out") for i in range(1, 4)],
        )

    def test_lockout_signal_without_request_is_logged(self):
        from axes.signals import user_locked_out

        with capture() as out:
            user_locked_out.send("axes", request=None, username="erin", ip_address="203.0.113.5")
        self.assertEqual(
            [(r["event"], r["username"], r["ip"]) for r in out.records],
            [("user_locked_out", "erin", "203.0.113.5")],
        )


@unittest.skipIf(AXES, "django-axes is installed in this run")
class WithoutAxesTests(TestCase):
    def test_no_axes_receiver_and_no_lockout_lines(self):
        from django.apps import apps

        self.assertFalse(apps.is_installed("axes"))
        with capture() as out:
            for i in range(5):
                api_login(Client(), "dave", WRONG, HTTP_X_REQUEST_ID="rid-na-%d" % i)
        self.assertEqual([r["event"] for r in out.records], ["login_failed"] * 5)


class IdentifierKeyTests(TestCase):
    """Which credential names the username: the login may be by e-mail."""

    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("frank", email="frank@example.com", password=PASSWORD)

    def failed_with(self, **credentials):
        class AnyCredentialsBackend:
            def authenticate(self, request, **kwargs):
                return None

        request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.5")
        with mock.patch(
            "django.contrib.auth._get_backends",
            return_value=[(AnyCredentialsBackend(), "x.AnyCredentialsBackend")],
        ), capture() as out:
            authenticate(request, **credentials)
        self.assertEqual(len(out.records), 1, out.raw)
        self.assertEqual(out.records[0]["event"], "login_failed")
        return out

    def test_email_credential_with_default_user_model(self):
        # An e-mail login backend on the default User model
        # (USERNAME_FIELD = "username"), and django-allauth, call
        # authenticate(email=...).
        out = self.failed_with(email="frank@example.com", password=WRONG)
        self.assertEqual(out.records[0]["username"], "frank@example.com")
        self.assertNotIn(WRONG, out.raw)

    def test_order_of_keys(self):
        cases = [
            ({"username": "u", "email": "e", "login": "l"}, "u"),
            ({"email": "e", "login": "l"}, "e"),
            ({"login": "l"}, "l"),
            ({"username": "", "email": "e"}, "e"),
        ]
        for credentials, want in cases:
            with self.subTest(credentials=credentials):
                out = self.failed_with(password=WRONG, **credentials)
                self.assertEqual(out.records[0]["username"], want)

    def test_username_field_comes_first(self):
        with mock.patch.object(get_user_model(), "USERNAME_FIELD", "login"):
            out = self.failed_with(login="l", username="u", password=WRONG)
        self.assertEqual(out.records[0]["username"], "l")

    def test_secret_keys_are_never_read(self):
        # Not even when USERNAME_FIELD names one: Django masks its value.
        with mock.patch.object(get_user_model(), "USERNAME_FIELD", "api_key"):
            out = self.failed_with(api_key="k-secret-1", token="t-secret-2", password=WRONG)
        self.assertNotIn("username", out.records[0])
        for secret in ("k-secret-1", "t-secret-2", "********************"):
            self.assertNotIn(secret, out.raw)

    def test_no_identifier(self):
        out = self.failed_with(password=WRONG, otp="123456")
        self.assertNotIn("username", out.records[0])
        self.assertNotIn("123456", out.raw)

    def test_permission_denied_backend_logs_once_without_secrets(self):
        from django.core.exceptions import PermissionDenied

        class DenyBackend:
            def authenticate(self, request, username=None, password=None, otp=None, password2=None):
                raise PermissionDenied

        request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
        with mock.patch(
            "django.contrib.auth._get_backends", return_value=[(DenyBackend(), "x.DenyBackend")]
        ), capture() as out:
            authenticate(
                request, username="henry", password="pw-secret-1", otp="991122",
                password2="pw-secret-2",
            )
        self.assertEqual(
            [(r["event"], r["username"]) for r in out.records], [("login_failed", "henry")]
        )
        for secret in ("pw-secret-1", "pw-secret-2", "991122"):
            self.assertNotIn(secret, out.raw)


class CaseInsensitiveBackend:
    """A backend matching usernames and e-mail addresses case-insensitively, as many do."""

    def authenticate(self, request, username=None, email=None, password=None, **kwargs):
        User = get_user_model()
        name = username or email
        if name is None:
            return None
        try:
            user = User.objects.get(username__iexact=name)
        except User.DoesNotExist:
            try:
                user = User.objects.get(email__iexact=name)
            except User.DoesNotExist:
                return None
        return user if user.check_password(password) else None

    def get_user(self, user_id):
        return get_user_model().objects.filter(pk=user_id).first()


@override_settings(AUTHENTICATION_BACKENDS=["tests.test_auth_lines.CaseInsensitiveBackend"])
class SuccessUsernameTests(TestCase):
    """A failure logs the identifier typed, a success the account's own username."""

    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("frank", email="frank@example.com", password=PASSWORD)

    def names(self, out):
        return [(r["event"], r.get("username")) for r in out.records]

    def test_json_login(self):
        client = Client()
        with capture() as out:
            api_login(client, "FRANK", WRONG, HTTP_X_REQUEST_ID="rid-ci-1")
            api_login(client, "FRANK", PASSWORD, HTTP_X_REQUEST_ID="rid-ci-2")
        # The success does not resolve the failure typed in another case.
        self.assertEqual(self.names(out), [("login_failed", "FRANK"), ("login_succeeded", "frank")])

    def test_form_login(self):
        client = Client()
        with capture() as out:
            for password in (WRONG, PASSWORD):
                client.post("/accounts/login/", {"username": " Frank ", "password": password})
        # The login form trims (and NFKC-normalises) before authenticate().
        self.assertEqual(self.names(out), [("login_failed", "Frank"), ("login_succeeded", "frank")])

    def test_email_login(self):
        client = Client()
        with capture() as out:
            api_login(client, "Frank@Example.com", PASSWORD)
        self.assertEqual(self.names(out), [("login_succeeded", "frank")])

    def test_value_in_request_is_not_read(self):
        # A view logging a user in with someone else's name in its form
        # (an admin's "log in as"): the account's username.
        from django.contrib.auth import login

        request = RequestFactory().post("/", {"username": "mallory"}, REMOTE_ADDR="127.0.0.1")
        request.session = mock.MagicMock()
        user = get_user_model().objects.get(username="frank")
        with capture() as out:
            login(request, user, backend="tests.test_auth_lines.CaseInsensitiveBackend")
        self.assertEqual(self.names(out), [("login_succeeded", "frank")])

    def test_without_request(self):
        user = get_user_model().objects.get(username="frank")
        with capture() as out:
            receivers.on_user_logged_in(sender=__name__, request=None, user=user)
            receivers.on_user_logged_in(
                sender=__name__, user=user,
                request=RequestFactory().get("/", REMOTE_ADDR="127.0.0.1"),
            )
        self.assertEqual(self.names(out), [("login_succeeded", "frank")] * 2)


class RefusedLoginTests(TestCase):
    """A right password whose login the form refuses sends no signal: still one line."""

    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user(
            "frank", email="frank@example.com", password=PASSWORD, is_active=False
        )

    def login(self, password):
        with capture() as out:
            resp = Client().post(
                "/accounts/login/",
                {"username": "frank", "password": password},
                HTTP_X_REQUEST_ID="rid-inactive",
                HTTP_X_FORWARDED_FOR="203.0.113.8",
            )
        self.assertEqual(resp.status_code, 200)  # the form again
        return out

    @override_settings(
        AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    )
    def test_inactive_user_with_right_password(self):
        out = self.login(PASSWORD)
        self.assertEqual(len(out.records), 1, out.raw)
        rec = out.records[0]
        self.assertEqual(
            (rec["event"], rec["request_id"], rec["username"], rec["ip"], rec["reason"]),
            ("login_failed", "rid-inactive", "frank", "203.0.113.8", "inactive"),
        )
        self.assertEqual(list(rec)[-1], "reason")
        self.assertNotIn(PASSWORD, out.raw)

    @override_settings(
        AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    )
    def test_inactive_user_with_wrong_password(self):
        out = self.login(WRONG)
        self.assertEqual([(r["event"], r.get("reason")) for r in out.records], [("login_failed", None)])

    @override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"])
    def test_model_backend_refuses_inactive_users_itself(self):
        # user_can_authenticate() is False: authenticate() fails and signals it.
        out = self.login(PASSWORD)
        self.assertEqual([(r["event"], r.get("reason")) for r in out.records], [("login_failed", None)])

    def test_other_refusal(self):
        from django.contrib.auth.forms import AuthenticationForm
        from django.core.exceptions import ValidationError
        from django.template.response import TemplateResponse

        class StaffOnlyForm(AuthenticationForm):
            def confirm_login_allowed(self, user):
                if not user.is_staff:
                    raise ValidationError("staff only", code="invalid_login")

        get_user_model().objects.create_user("gina", password=PASSWORD)
        request = RequestFactory().post(
            "/", {"username": "gina", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1",
            HTTP_X_REQUEST_ID="rid-staff",
        )
        form = StaffOnlyForm(request, data=request.POST)
        self.assertFalse(form.is_valid())

        from spraywatch_django.middleware import RequestIDMiddleware

        mw = RequestIDMiddleware(lambda r: TemplateResponse(r, "registration/login.html", {"form": form}))
        with capture() as out:
            response = mw(request)
            mw.process_template_response(request, response)
            mw.process_template_response(request, response)  # logged once
        self.assertEqual(
            [(r["event"], r["username"], r["request_id"], r["reason"]) for r in out.records],
            [("login_failed", "gina", "rid-staff", "login_refused")],
        )


class LongUsernameTests(TestCase):
    """A username of any length gives a line spraywatch reads (its default limit: 256 KiB)."""

    def line(self, username):
        request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
        with capture() as out:
            receivers.on_user_login_failed(
                sender=__name__, credentials={"username": username}, request=request
            )
        self.assertEqual(len(out.lines), 1)
        return out.lines[0], out.records[0]

    def test_long_username_is_cut_with_marker(self):
        import hashlib

        from spraywatch_django.username import MAX_USERNAME_BYTES

        name = "x" * 300000
        line, rec = self.line(name)
        self.assertLess(len(line.encode("utf-8")), 2 * 1024)
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        self.assertTrue(rec["username"].endswith("\u2026sha256:" + digest), rec["username"][-40:])
        self.assertEqual(len(rec["username"].encode("utf-8")), MAX_USERNAME_BYTES)
        self.assertEqual(rec["username"], "x" * 998 + "\u2026sha256:" + digest)
        self.assertIs(rec["username_truncated"], True)
        self.assertEqual(list(rec)[5:7], ["username", "username_truncated"])

    def test_padding_does_not_merge_usernames(self):
        # A backend that strips or folds the name would try "alice" and
        # "bob": the two lines must still count as two usernames.
        pad = " " * 2000
        _, a = self.line(pad + "alice")
        _, b = self.line(pad + "bob")
        self.assertNotEqual(a["username"], b["username"])

    def test_boundary(self):
        from spraywatch_django.username import MAX_USERNAME_BYTES

        fits = "\u00e9" * (MAX_USERNAME_BYTES // 2)  # 2 bytes each: exactly the limit
        _, rec = self.line(fits)
        self.assertEqual(rec["username"], fits)
        self.assertNotIn("username_truncated", rec)
        _, rec = self.line(fits + "a")
        self.assertIn("username_truncated", rec)
        # Cut between characters, never inside one.
        self.assertLessEqual(len(rec["username"].encode("utf-8")), MAX_USERNAME_BYTES)
        self.assertTrue(rec["username"].startswith("\u00e9" * 400))

    def test_hmac_mode_hashes_the_whole_name(self):
        from spraywatch_django.username import hmac_username

        name = "y" * 5000
        with override_settings(SPRAYWATCH_USERNAME_MODE="hmac", SPRAYWATCH_USERNAME_HMAC_KEY="k"):
            _, rec = self.line(name)
        self.assertEqual(rec["username"], hmac_username(b"k", name))
        self.assertNotIn("username_truncated", rec)


class LogAttemptTests(TestCase):
    """log_attempt, for flows Django sends no signal for (a token endpoint
    checking the password itself, a second factor refused)."""

    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("alice", password=PASSWORD)

    def token(self, username, password, otp=None):
        body = {"username": username, "password": password}
        if otp is not None:
            body["otp"] = otp
        with capture() as out:
            resp = Client().post(
                "/api/token/",
                data=json.dumps(body),
                content_type="application/json",
                HTTP_X_REQUEST_ID="6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a",
            )
        return resp, out

    def test_success_and_failure_lines(self):
        for username, password, otp, status, event, reason in [
            ("alice", PASSWORD, "123456", 200, "login_succeeded", None),
            ("alice", WRONG, None, 401, "login_failed", None),
            ("mallory", WRONG, None, 401, "login_failed", None),
            ("alice", PASSWORD, "000000", 401, "login_failed", "second_factor"),
        ]:
            with self.subTest(username=username, password=password, otp=otp):
                resp, out = self.token(username, password, otp)
                self.assertEqual(resp.status_code, status)
                self.assertEqual(len(out.lines), 1, out.raw)
                rec = out.records[0]
                self.assertEqual(rec["event"], event)
                self.assertEqual(rec["username"], username)
                self.assertEqual(rec["request_id"], "6f1c2e0b9a7d4c3e8b2a1f0e9d8c7b6a")
                self.assertEqual(rec["ip"], "127.0.0.1")
                self.assertEqual(rec.get("reason"), reason)
                if reason is None:
                    self.assertRegex(out.lines[0], REFERENCE)

    def test_username_mode_applies(self):
        with override_settings(SPRAYWATCH_USERNAME_MODE="omit"):
            _, out = self.token("alice", WRONG)
        self.assertEqual(len(out.lines), 1, out.raw)
        self.assertNotIn("username", out.records[0])
