"""Async views logging in with Django 5's aauthenticate() and alogin(), under ASGI."""

import json
import unittest

import django
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path

from spraywatch_django.context import current_request_id

from .helpers import capture

PASSWORD = "correct horse battery staple"
seen = {}


async def async_login(request):
    from django.contrib.auth import aauthenticate, alogin

    body = json.loads(request.body.decode("utf-8"))
    seen["context_request_id"] = current_request_id()
    user = await aauthenticate(request, username=body["username"], password=body["password"])
    if user is None:
        return HttpResponse("denied", status=401)
    await alogin(request, user)
    return HttpResponse("ok")


urlpatterns = [path("alogin/", async_login)]


@unittest.skipIf(django.VERSION < (5, 0), "aauthenticate() and alogin() came with Django 5.0")
@override_settings(ROOT_URLCONF=__name__)
class AsyncLoginTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        get_user_model().objects.create_user("gina", password=PASSWORD)

    async def test_failure_and_success_one_line_each(self):
        client = AsyncClient()
        with capture() as out:
            for i, (name, password) in enumerate((("gina", "wrong"), ("GINA", "x"), ("gina", PASSWORD))):
                await client.post(
                    "/alogin/",
                    json.dumps({"username": name, "password": password}),
                    content_type="application/json",
                    headers={"X-Request-ID": "rid-async-%d" % i},
                )
        got = [(r["event"], r["request_id"], r.get("username")) for r in out.records]
        self.assertEqual(
            got,
            [
                ("login_failed", "rid-async-0", "gina"),
                ("login_failed", "rid-async-1", "GINA"),
                ("login_succeeded", "rid-async-2", "gina"),
            ],
        )
        # The id is in the context the async view runs in.
        self.assertEqual(seen["context_request_id"], "rid-async-2")
