import calendar
import io
import json
import logging
import sys

from django.test import SimpleTestCase

from spraywatch_django.context import request_id_var
from spraywatch_django.formatter import JSONFormatter, RequestIDFilter, format_timestamp


def record(msg="hello %s", args=("world",), name="app.x", level=logging.ERROR, **attrs):
    rec = logging.LogRecord(name, level, __file__, 1, msg, args, None)
    for k, v in attrs.items():
        setattr(rec, k, v)
    return rec


class FormatterTests(SimpleTestCase):
    def test_timestamp_utc_microseconds(self):
        epoch = calendar.timegm((2026, 12, 4, 9, 0, 1))
        self.assertEqual(format_timestamp(epoch + 0.5), "2026-12-04T09:00:01.500000Z")
        self.assertEqual(format_timestamp(epoch), "2026-12-04T09:00:01.000000Z")

    def test_plain_record(self):
        line = JSONFormatter().format(record())
        obj = json.loads(line)
        self.assertEqual(list(obj), ["timestamp", "level", "logger", "event"])
        self.assertEqual(obj["event"], "hello world")
        self.assertEqual(obj["level"], "error")
        self.assertEqual(obj["logger"], "app.x")

    def test_request_id_from_context_and_record(self):
        token = request_id_var.set("rid-ctx")
        try:
            self.assertEqual(json.loads(JSONFormatter().format(record()))["request_id"], "rid-ctx")
            rec = record(request_id="rid-rec")
            self.assertEqual(json.loads(JSONFormatter().format(rec))["request_id"], "rid-rec")
        finally:
            request_id_var.reset(token)

    def test_exception_stays_on_one_line(self):
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            rec = record(exc_info=sys.exc_info())
        line = JSONFormatter().format(rec)
        self.assertNotIn("\n", line)
        self.assertIn("ValueError: boom", json.loads(line)["exception"])

    def test_message_escaping(self):
        line = JSONFormatter().format(record(msg='q"\n\x01\u2028\u00e9', args=()))
        self.assertEqual(json.loads(line)["event"], 'q"\n\x01\u2028\u00e9')
        self.assertIn("\u00e9", line)
        self.assertIn("\\u2028", line)
        self.assertNotIn("\n", line)

    def test_filter_for_text_formats(self):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(RequestIDFilter())
        handler.setFormatter(logging.Formatter("[%(request_id)s] %(message)s"))
        handler.handle(record())
        token = request_id_var.set("rid-f")
        try:
            handler.handle(record())
        finally:
            request_id_var.reset(token)
        self.assertEqual(stream.getvalue(), "[-] hello world\n[rid-f] hello world\n")
