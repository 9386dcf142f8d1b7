"""JSON-lines logging formatter and request-id filter."""

import datetime
import json
import logging
import re

from .context import current_request_id

#: Attribute of a LogRecord holding the ordered fields of a spraywatch auth
#: line (set through logging's extra=).
FIELDS_ATTR = "spraywatch_fields"

# Characters json.dumps(ensure_ascii=False) leaves raw that still break
# line-oriented readers or strict decoders: DEL and C1 controls, the Unicode
# line/paragraph separators, and surrogates. They only ever occur inside
# JSON strings.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape_unsafe(match):
    c = match.group()
    if "\ud800" <= c <= "\udfff":
        # A surrogate in a str is a lone one (UTF-8 cannot encode it). Its
        # \uXXXX escape would be read back paired with a neighbouring one
        # ("\ud83d" "\ude00" as U+1F600, another username): it is written
        # as U+FFFD, as hmac mode hashes it and spraywatch reads a lone
        # escape.
        return "\ufffd"
    return "\\u%04x" % ord(c)


def dumps_line(obj) -> str:
    """Returns obj as one compact JSON line of UTF-8 text.

    Controls, DEL, C1 controls and U+2028/U+2029 are escaped; surrogates,
    which UTF-8 cannot encode, become U+FFFD.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    return _UNSAFE.sub(_escape_unsafe, text)


def format_timestamp(created: float) -> str:
    """Returns a UTC RFC 3339 timestamp with microseconds and Z."""
    dt = datetime.datetime.fromtimestamp(created, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JSONFormatter(logging.Formatter):
    """Formats each record as one JSON object on one line.

    Keys, in order: timestamp (UTC, microseconds, Z), level (lower case),
    logger (the logger name), event (the message), then either the fields of a
    spraywatch auth line or, for any other record, request_id (from the
    record or the request being handled) and exception text when present.
    """

    def format(self, record: logging.LogRecord) -> str:
        obj = {
            "timestamp": format_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, FIELDS_ATTR, None)
        if fields is not None:
            obj.update(fields)
        else:
            rid = getattr(record, "request_id", None)
            if not rid or rid == "-":
                rid = current_request_id()
            if rid is not None:
                obj["request_id"] = rid
            if record.exc_info:
                obj["exception"] = self.formatException(record.exc_info)
            elif record.exc_text:
                obj["exception"] = record.exc_text
            if record.stack_info:
                obj["stack"] = self.formatStack(record.stack_info)
        return dumps_line(obj)


class RequestIDFilter(logging.Filter):
    """Sets record.request_id to the current request's id ("-" outside a request).

    For text formats such as "%(asctime)s [%(request_id)s] %(message)s".
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True
