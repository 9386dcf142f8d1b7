"""How usernames appear in auth lines (SPRAYWATCH_USERNAME_MODE)."""

import hashlib
import hmac
import re
from typing import Optional

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
    data = _SURROGATE.sub("\ufffd", username).encode("utf-8")
    return HMAC_PREFIX + hmac.new(key, data, hashlib.sha256).hexdigest()


def logged_username(username: Optional[str]) -> Optional[str]:
    """Returns the value to log for username under the configured mode.

    None means "do not write the username key": in omit mode, or when the
    username is unknown.
    """
    mode = conf.username_mode()
    if mode == "omit" or username is None:
        return None
    username = str(username)
    if mode == "hmac":
        return hmac_username(conf.hmac_key(), username)
    return username
