"""Per-request context shared with logging."""

import contextvars
from typing import Optional

#: Request id of the request being handled in this context, or None
#: outside a request. Set by RequestIDMiddleware.
request_id_var: "contextvars.ContextVar[Optional[str]]" = contextvars.ContextVar(
    "spraywatch_request_id", default=None
)


def current_request_id() -> Optional[str]:
    """Returns the request id of the request handled in this context, or None."""
    return request_id_var.get()
