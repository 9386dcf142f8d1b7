#!/usr/bin/env python3
"""Runs the spraywatch_django tests with Django's test runner (unittest underneath).

    python3 contrib/django/runtests.py            # with django-axes when importable,
                                                   # then again without it
    python3 contrib/django/runtests.py --no-axes  # only without django-axes
    python3 contrib/django/runtests.py tests.test_auth_lines   # a subset

Exits non-zero when a test fails, and ends with one line
"django: N passed, N failed, N skipped" over all runs.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
_COUNTS_ENV = "SPRAYWATCH_DJANGO_TEST_COUNTS"

LOGIN_TEMPLATE = (
    "<form method=post>{% csrf_token %}{{ form.as_p }}"
    "<input type=submit value=login></form>"
)


def configure(with_axes: bool, log_dir: str) -> None:
    from django.conf import settings

    installed = [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "spraywatch_django",
    ]
    middleware = [
        "spraywatch_django.middleware.RequestIDMiddleware",
        "spraywatch_django.middleware.ClientCertMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    backends = ["django.contrib.auth.backends.ModelBackend"]
    extra = {}
    if with_axes:
        installed.append("axes")
        middleware.append("axes.middleware.AxesMiddleware")
        backends.insert(0, "axes.backends.AxesBackend")
        extra["AXES_FAILURE_LIMIT"] = 1000
    settings.configure(
        DEBUG=False,
        SECRET_KEY="spraywatch-django-tests-not-secret",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=installed,
        MIDDLEWARE=middleware,
        AUTHENTICATION_BACKENDS=backends,
        ROOT_URLCONF="tests.urls",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
        LOGIN_REDIRECT_URL="/done/",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "loaders": [
                        (
                            "django.template.loaders.locmem.Loader",
                            {"registration/login.html": LOGIN_TEMPLATE},
                        )
                    ],
                    "context_processors": ["django.template.context_processors.csrf"],
                },
            }
        ],
        # The settings snippet from README.md, writing to a temporary directory.
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"spraywatch": {"()": "spraywatch_django.formatter.JSONFormatter"}},
            "handlers": {
                "null": {"class": "logging.NullHandler"},
                "spraywatch_auth": {
                    "class": "logging.FileHandler",
                    "filename": os.path.join(log_dir, "auth.jsonl"),
                    "encoding": "utf-8",
                    "formatter": "spraywatch",
                }
            },
            "loggers": {
                "spraywatch.auth": {
                    "handlers": ["spraywatch_auth"],
                    "level": "INFO",
                    "propagate": False,
                },
                # django-axes' own messages are not under test.
                "axes": {"handlers": ["null"], "propagate": False},
                "tests": {"handlers": ["null"], "propagate": False},
                # The package's own warnings; tests capture them where needed.
                "spraywatch_django": {"handlers": ["null"], "propagate": False},
            },
        },
        SW_TEST_AUTH_LOG=os.path.join(log_dir, "auth.jsonl"),
        SW_TEST_WITH_AXES=with_axes,
        **extra,
    )


def _test_ids(tests) -> set:
    """Returns the ids of the tests behind tests, a subtest standing for its test.

    An error outside any test (a module that fails to import, a failing
    setUpClass) is an entry of its own.
    """
    ids = set()
    for test in tests:
        test = getattr(test, "test_case", test)  # unittest's _SubTest
        ids.add(test.id())
    return ids


def main(argv) -> int:
    args = list(argv)
    no_axes = "--no-axes" in args
    args = [a for a in args if a != "--no-axes"]
    with_axes = not no_axes and importlib.util.find_spec("axes") is not None

    sys.path.insert(0, HERE)
    with tempfile.TemporaryDirectory(prefix="spraywatch-django-tests-") as log_dir:
        configure(with_axes, log_dir)
        import django
        from django.test.runner import DiscoverRunner

        django.setup()

        totals = {}

        class Runner(DiscoverRunner):
            def suite_result(self, suite, result, **kwargs):
                # A test whose subtests fail has one entry per failed
                # subtest in result.failures but counts once in testsRun:
                # count tests, not entries.
                failed = _test_ids(
                    [t for t, _ in result.failures + result.errors]
                    + list(result.unexpectedSuccesses)
                )
                skipped = _test_ids([t for t, _ in result.skipped]) - failed
                totals["run"] = result.testsRun
                totals["failed"] = len(failed)
                totals["skipped"] = len(skipped)
                return super().suite_result(suite, result, **kwargs)

        print(
            "Django %s, django-axes %s"
            % (django.get_version(), "enabled" if with_axes else "not used"),
            file=sys.stderr,
        )
        runner = Runner(verbosity=1, top_level=HERE)
        failures = runner.run_tests(args or ["tests"])
        rc = 1 if failures or not totals.get("run") else 0

    counts = [
        max(0, totals.get("run", 0) - totals.get("failed", 0) - totals.get("skipped", 0)),
        totals.get("failed", 0),
        totals.get("skipped", 0),
    ]
    counts_file = os.environ.get(_COUNTS_ENV)
    if counts_file:
        # A child run: the parent prints the combined line.
        with open(counts_file, "w") as f:
            json.dump(counts, f)
        return rc
    if with_axes and not args:
        # The package must also work where django-axes is not installed.
        with tempfile.TemporaryDirectory(prefix="spraywatch-django-counts-") as d:
            path = os.path.join(d, "counts.json")
            env = dict(os.environ, **{_COUNTS_ENV: path})
            child_rc = subprocess.call(
                [sys.executable, os.path.abspath(__file__), "--no-axes"], env=env
            )
            rc |= child_rc
            try:
                with open(path) as f:
                    counts = [a + b for a, b in zip(counts, json.load(f))]
            except (OSError, ValueError):
                rc |= 1
                counts[1] += 1  # the child run died before reporting
    sys.stderr.flush()
    print("django: %d passed, %d failed, %d skipped" % tuple(counts), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
