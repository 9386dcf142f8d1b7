import contextlib
import io
import json
import logging

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


@contextlib.contextmanager
def capture(logger_name="spraywatch.auth"):
    """Attaches a StringIO handler with JSONFormatter to logger_name."""
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JSONFormatter())
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
