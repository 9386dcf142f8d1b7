import json
import logging

from django.contrib.auth import authenticate, get_user_model, login
from django.contrib.auth.views import LoginView
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from spraywatch_django import log_attempt
from spraywatch_django.context import current_request_id

app_logger = logging.getLogger("tests.app")


@csrf_exempt
@require_POST
def api_login(request):
    """A login endpoint without the form's normalisation: usernames arrive verbatim."""
    body = json.loads(request.body.decode("utf-8"))
    user = authenticate(request, username=body.get("username"), password=body.get("password"))
    if user is None:
        return HttpResponse("denied", status=401)
    login(request, user)
    return HttpResponse("ok")


@csrf_exempt
@require_POST
def token_login(request):
    """A token endpoint that checks the password itself: no signal is sent."""
    body = json.loads(request.body.decode("utf-8"))
    username = body.get("username") or ""
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.check_password(body.get("password") or ""):
        log_attempt(request, username, succeeded=False)
        return HttpResponse("denied", status=401)
    if body.get("otp") != "123456":
        log_attempt(request, user.get_username(), succeeded=False, reason="second_factor")
        return HttpResponse("second factor refused", status=401)
    log_attempt(request, user.get_username(), succeeded=True)
    return JsonResponse({"token": "t0k3n"})


def whoami(request):
    app_logger.warning("whoami called")
    cert = request.spraywatch_client_cert
    return JsonResponse(
        {
            "request_id": request.spraywatch_request_id,
            "source": request.spraywatch_request_id_source,
            "context_request_id": current_request_id(),
            "cert": None
            if cert is None
            else {
                "subject": cert.subject,
                "fingerprint": cert.fingerprint,
                "fingerprint_algorithm": cert.fingerprint_algorithm,
            },
        }
    )


def done(request):
    return HttpResponse("logged in")


urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("api/login/", api_login),
    path("api/token/", token_login),
    path("whoami/", whoami),
    path("done/", done),
]
