"""A success never reads the login request: the view's body stays readable, and no value it sent is logged."""
import json
from io import BytesIO

from django.contrib.auth import authenticate, get_user_model, login
from django.http import HttpResponse
from django.test import TestCase, override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .helpers import capture

PASSWORD = "correct horse battery staple"


@csrf_exempt
def upload_after_login(request):
    """Logs the user in (as RemoteUserMiddleware or an SSO callback would), then reads the raw body."""
    user = get_user_model().objects.get(username="alice")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse(str(len(request.body)))


@csrf_exempt
def stream_json_login(request):
    """A JSON login endpoint that parses the body from the stream (json.load(request))."""
    data = json.load(request)
    User = get_user_model()
    try:
        user = User.objects.get(email__iexact=data["email"])
    except User.DoesNotExist:
        return HttpResponse(status=401)
    if not user.check_password(data["password"]):
        return HttpResponse(status=401)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


@csrf_exempt
def login_field_login(request):
    """An allauth-style login form: the identifier field is "login"."""
    user = authenticate(request, username=request.POST.get("login"), password=request.POST.get("password"))
    if user is None:
        return HttpResponse(status=401)
    login(request, user)
    return HttpResponse("ok")


urlpatterns = [
    path("upload/", upload_after_login),
    path("stream-login/", stream_json_login),
    path("login-field/", login_field_login),
]


@override_settings(ROOT_URLCONF=__name__)
class RequestBodyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("alice", email="alice@example.com", password=PASSWORD)

    def test_multipart_body_still_readable_after_login(self):
        f = BytesIO(b"x" * 1000)
        f.name = "blob.bin"
        with capture() as out:
            response = self.client.post("/upload/", {"file": f, "username": "alice"})
        self.assertEqual(response.status_code, 200)
        self.assertGreater(int(response.content), 1000)
        self.assertEqual([r["username"] for r in out.events("login_succeeded")], ["alice"])

    def test_view_reading_the_stream(self):
        with capture() as out:
            response = self.client.post(
                "/stream-login/",
                data=json.dumps({"email": "Alice@Example.com", "password": PASSWORD}),
                content_type="application/json",
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual([r["username"] for r in out.events("login_succeeded")], ["alice"])


@override_settings(ROOT_URLCONF=__name__)
class OtherAccountNamedInRequestTests(TestCase):
    """A field of the login request naming another account does not make the success name it."""

    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        User.objects.create_user("Alice", password="other-pw")  # usernames are case-sensitive
        User.objects.create_user("bob@corp.com", password="other-pw")
        User.objects.create_user("mallory", email="bob@corp.com", password=PASSWORD)  # unverified e-mail
        User.objects.create_user("alice", password=PASSWORD)

    def _login(self, **post):
        with capture() as out:
            response = self.client.post("/login-field/", post)
        self.assertEqual(response.status_code, 200)
        (line,) = out.events("login_succeeded")
        return line["username"]

    def test_case_variant_of_another_account(self):
        self.assertEqual(self._login(login="alice", password=PASSWORD, username="Alice"), "alice")

    def test_own_email_equal_to_another_username(self):
        self.assertEqual(self._login(login="mallory", password=PASSWORD, username="bob@corp.com"), "mallory")
