"""The lab site: Django's own LoginView, and a page to land on."""

from django.contrib.auth.views import LoginView
from django.http import HttpResponse
from django.urls import path


def done(request):
    return HttpResponse("logged in\n", content_type="text/plain")


urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("done/", done),
]
