"""Reading the headers the trusted proxy sets, and telling when a client slipped in its own.

A proxy overwrites or deletes a header by its exact name: HAProxy's
set-header and del-header, nginx's proxy_set_header, Envoy's request id.
A client that sends the same name with "_" for "-" (X-SSL-Client-S_DN,
X-Request_ID) gets past those rules wherever the proxy forwards such
names, and several servers file both spellings under one request.META key
(gunicorn before 22, Django's own ASGI handler before 5.x): the client's
value then stands next to, or instead of, the proxy's.

Under ASGI the header list as received is in request.scope["headers"]:
only a header spelt exactly as configured is read, once, and any other
spelling of it is a conflict. Under WSGI only request.META is known; a
header that arrived twice there holds the values joined with "," (gunicorn,
Django's ASGI handler), which the callers that know their header has no
comma report as a conflict. A WSGI server that maps a lone underscore
spelling onto the key cannot be caught here: the proxy must drop or reject
such names (see the README).
"""

from typing import List, Optional, Tuple

#: Attribute of a request holding the names of the proxy headers that had a
#: conflict (a set of names as configured).
CONFLICTS_ATTR = "spraywatch_header_conflicts"


def _fold(name: str) -> str:
    return name.lower().replace("_", "-")


def _raw_headers(request):
    """Returns the ASGI scope's header list, or None for a WSGI request."""
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        headers = scope.get("headers")
        if headers is not None:
            return headers
    return None


def _text(value) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def read(request, name: str, meta_key: str) -> Tuple[Optional[List[str]], bool]:
    """Returns the values of header name and whether another spelling was present.

    Under ASGI: the values of the headers spelt exactly name (case aside),
    in order, an empty list if none; the flag is true when a header whose
    name differs only by "_" and "-" came too (its value is never read).
    Under WSGI: None for the values (the caller reads request.META[meta_key]
    itself) and False, as nothing more is known.
    """
    raw = _raw_headers(request)
    if raw is None:
        return None, False
    want = name.lower()
    folded = _fold(name)
    values = []
    other_spelling = False
    for key, value in raw:
        key = _text(key).lower()
        if key == want:
            values.append(_text(value))
        elif _fold(key) == folded:
            other_spelling = True
    return values, other_spelling


def single(request, name: str, meta_key: str) -> Optional[str]:
    """Returns the one value of a header that must come once and holds no comma.

    None when it is absent or ambiguous: under ASGI, sent more than once
    under its exact name; under WSGI, holding a comma (two headers joined by
    the server). Under ASGI another spelling next to it is ignored. Every
    ambiguity and every other spelling is recorded as a conflict on the
    request.
    """
    values, other_spelling = read(request, name, meta_key)
    if values is None:
        value = request.META.get(meta_key)
        if value is not None and "," in value:
            note_conflict(request, name)
            return None
        return value
    if other_spelling or len(values) > 1:
        note_conflict(request, name)
    if len(values) != 1:
        return None
    return values[0]


def exact(request, name: str, meta_key: str) -> Optional[str]:
    """Returns the one value of a header that must come once but may hold commas (a DN).

    Under ASGI as single(); under WSGI request.META[meta_key] as it is, since
    a comma there may be the value's own.
    """
    values, other_spelling = read(request, name, meta_key)
    if values is None:
        return request.META.get(meta_key)
    if other_spelling or len(values) > 1:
        note_conflict(request, name)
    if len(values) != 1:
        return None
    return values[0]


def joined(request, name: str, meta_key: str) -> Optional[str]:
    """Returns a list-valued header (X-Forwarded-For) with repeats joined by ",".

    Under ASGI other spellings are left out (and recorded as a conflict);
    under WSGI request.META[meta_key] is returned as it is.
    """
    values, other_spelling = read(request, name, meta_key)
    if values is None:
        return request.META.get(meta_key)
    if other_spelling:
        note_conflict(request, name)
    if not values:
        return None
    return ",".join(values)


def note_conflict(request, name: str) -> None:
    conflicts = getattr(request, CONFLICTS_ATTR, None)
    if conflicts is None:
        conflicts = set()
        try:
            setattr(request, CONFLICTS_ATTR, conflicts)
        except AttributeError:
            return
    conflicts.add(name)


def conflicts(request) -> List[str]:
    """Returns the names of the proxy headers that had a conflict, sorted."""
    return sorted(getattr(request, CONFLICTS_ATTR, None) or ())
