import contextlib
import io
import json
import logging

from django.core.handlers.asgi import ASGIRequest

from spraywatch_django.formatter import JSONFormatter


class Captured:
    """Lines written through a JSONFormatter handler while a capture is active."""

    def __init__(self):
        self.stream = io.StringIO()

    @property
    def raw(self):
        return self.stream.getvalue()

    @property
    def lines(self):
        text = self.raw
        assert text == "" or text.endswith("\n"), "output does not end with a newline"
        return text.splitlines()

    @property
    def records(self):
        return [json.loads(line) for line in self.lines]

    def events(self, name):
        return [r for r in self.records if r["event"] == name]


class _FixedTime(logging.Filter):
    def __init__(self, created):
        super().__init__()
        self.created = created

    def filter(self, record):
        record.created = self.created
        return True


@contextlib.contextmanager
def capture(logger_name="spraywatch.auth", created=None, formatter=None):
    """Attaches a StringIO handler with JSONFormatter (or formatter) to logger_name.

    created, when given, is the time (epoch seconds) every captured record
    gets, for output compared byte for byte.
    """
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(formatter or JSONFormatter())
    if created is not None:
        handler.addFilter(_FixedTime(created))
    logger = logging.getLogger(logger_name)
    old_level = logger.level
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def asgi_request(headers, client=("127.0.0.1", 40000), method="GET", path="/"):
    """Returns a request as Django's ASGI handler builds it from an ASGI server's scope.

    headers are (name, value) pairs passed on as the server received them
    (uvicorn and daphne keep underscores in names); client None is a peer on
    a unix socket.
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "client": client,
        "server": ("127.0.0.1", 8000),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }
    return ASGIRequest(scope, io.BytesIO())
