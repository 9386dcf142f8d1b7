"""How usernames appear in auth lines (SPRAYWATCH_USERNAME_MODE)."""

import hashlib
import hmac
import re
from typing import Optional, Tuple

from . import conf

HMAC_PREFIX = "hmac-sha256:"

_SURROGATE = re.compile("[\ud800-\udfff]")


def hmac_username(key: bytes, username: str) -> str:
    """Returns "hmac-sha256:" + lowercase hex HMAC-SHA256(key, UTF-8 username).

    spraywatch's hmac privacy mode computes the same value, so both sides
    agree on pseudonymous usernames without either logging the real one.
    Surrogate code points (which UTF-8 cannot encode) are each replaced by
    U+FFFD first.
    """
    data = _utf8(username)
    return HMAC_PREFIX + hmac.new(key, data, hashlib.sha256).hexdigest()


#: Longest username logged in plain mode, in UTF-8 bytes. spraywatch skips
#: lines longer than its --max-line-bytes (256 KiB by default), and a client
#: chooses what it types: a longer one is cut (see truncate_username).
MAX_USERNAME_BYTES = 1024

#: Separates the kept start of a cut username from the digest of the whole.
TRUNCATION_MARK = "\u2026sha256:"

_DIGEST_HEX = 16


def _utf8(username: str) -> bytes:
    return _SURROGATE.sub("\ufffd", username).encode("utf-8")


def truncate_username(username: str) -> str:
    """Returns username cut to MAX_USERNAME_BYTES UTF-8 bytes, or as it is if it fits.

    A cut username is its longest start that fits with the mark, then
    "…sha256:" and the first 16 hex digits of SHA-256 of the whole (UTF-8,
    surrogates as U+FFFD): two long usernames that differ only after the
    start (padding a backend strips away) stay two usernames.
    """
    data = _utf8(username)
    if len(data) <= MAX_USERNAME_BYTES:
        return username
    suffix = TRUNCATION_MARK + hashlib.sha256(data).hexdigest()[:_DIGEST_HEX]
    room = MAX_USERNAME_BYTES - len(suffix.encode("utf-8"))
    start = data[:room].decode("utf-8", "ignore")  # no character cut in half
    return start + suffix


def logged_username_and_truncated(username: Optional[str]) -> Tuple[Optional[str], bool]:
    """Returns the value to log for username under the configured mode, and whether it was cut.

    None means "do not write the username key": in omit mode, or when the
    username is unknown. In plain mode a username over MAX_USERNAME_BYTES
    is cut (truncate_username); an hmac pseudonym covers the whole.
    """
    mode = conf.username_mode()
    if mode == "omit" or username is None:
        return None, False
    username = str(username)
    if mode == "hmac":
        return hmac_username(conf.hmac_key(), username), False
    logged = truncate_username(username)
    return logged, logged != username


def logged_username(username: Optional[str]) -> Optional[str]:
    """Returns the value to log for username (see logged_username_and_truncated)."""
    return logged_username_and_truncated(username)[0]
