"""Settings of the lab's Django site: a login page behind the mTLS proxies.

Environment: LAB_DB (SQLite file), LAB_AUTH_LOG (the spraywatch auth log),
LAB_SECRET_KEY (optional). The spraywatch_django parts are the settings
snippet of contrib/django/README.md.
"""

import os

DEBUG = os.environ.get("LAB_DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("LAB_SECRET_KEY", "spraywatch-lab-not-secret")
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "spraywatch_django",
]

MIDDLEWARE = [
    "spraywatch_django.middleware.RequestIDMiddleware",
    "spraywatch_django.middleware.ClientCertMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

# Both proxies run on this machine: only they may set X-Request-ID.
SPRAYWATCH_TRUSTED_PROXIES = ["127.0.0.1"]
SPRAYWATCH_REQUEST_ID_HEADER = "X-Request-ID"

ROOT_URLCONF = "labsite.urls"
WSGI_APPLICATION = "labsite.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LAB_DB", "/nonexistent/lab.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# Fast hashing: the lab's passwords are throwaway.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
TIME_ZONE = "UTC"
LOGIN_REDIRECT_URL = "/done/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {
                        "registration/login.html": (
                            "<!doctype html><title>login</title>"
                            "<form method=post>{% csrf_token %}{{ form.as_p }}"
                            "<input type=submit value=login></form>"
                        )
                    },
                )
            ],
            "context_processors": ["django.template.context_processors.csrf"],
        },
    }
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"spraywatch": {"()": "spraywatch_django.formatter.JSONFormatter"}},
    "handlers": {
        "spraywatch_auth": {
            "class": "logging.FileHandler",
            "filename": os.environ.get("LAB_AUTH_LOG", "/nonexistent/auth.jsonl"),
            "encoding": "utf-8",
            "formatter": "spraywatch",
        },
    },
    "loggers": {
        "spraywatch.auth": {
            "handlers": ["spraywatch_auth"],
            "level": "INFO",
            "propagate": False,
        },
    },
}
