"""Settings of spraywatch_django and the address logic that depends on them.

Settings (all optional):

SPRAYWATCH_REQUEST_ID_HEADER
    Header the trusted proxy sets to its request id. Default "X-Request-ID";
    "X-Amzn-Trace-Id" behind an AWS ALB (its Self, else Root field).
SPRAYWATCH_TRUSTED_PROXIES
    Addresses or CIDR networks of the reverse proxies whose headers are
    believed, and "unix" for a proxy connecting over a unix socket (an
    empty or absent REMOTE_ADDR). Default ["127.0.0.1", "::1"].
SPRAYWATCH_FORWARDED_FOR_HEADER
    Header carrying the client address chain. Default "X-Forwarded-For".
SPRAYWATCH_USERNAME_MODE
    "plain" (default), "hmac" or "omit".
SPRAYWATCH_USERNAME_HMAC_KEY / SPRAYWATCH_USERNAME_HMAC_KEY_FILE
    Key for "hmac" mode, given directly or as a file name.
SPRAYWATCH_CLIENT_CERT_SUBJECT_HEADER
    Default "X-SSL-Client-S-DN".
SPRAYWATCH_CLIENT_CERT_FINGERPRINT_HEADER
    Default "X-SSL-Client-Fingerprint".
"""

import functools
import ipaddress
from typing import Optional, Tuple, Union

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import headers

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

DEFAULT_REQUEST_ID_HEADER = "X-Request-ID"
DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")
DEFAULT_FORWARDED_FOR_HEADER = "X-Forwarded-For"
DEFAULT_CLIENT_CERT_SUBJECT_HEADER = "X-SSL-Client-S-DN"
DEFAULT_CLIENT_CERT_FINGERPRINT_HEADER = "X-SSL-Client-Fingerprint"

USERNAME_MODES = ("plain", "hmac", "omit")


def meta_key(header: str) -> str:
    """Returns the request.META key under which a WSGI/ASGI server stores header."""
    key = header.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key
    return "HTTP_" + key


def request_id_header() -> str:
    return getattr(settings, "SPRAYWATCH_REQUEST_ID_HEADER", DEFAULT_REQUEST_ID_HEADER)


def request_id_meta_key() -> str:
    return meta_key(request_id_header())


def forwarded_for_header() -> str:
    return getattr(settings, "SPRAYWATCH_FORWARDED_FOR_HEADER", DEFAULT_FORWARDED_FOR_HEADER)


def forwarded_for_meta_key() -> str:
    return meta_key(forwarded_for_header())


def client_cert_headers() -> Tuple[str, str]:
    """Returns the names of the client-certificate subject and fingerprint headers."""
    subject = getattr(
        settings, "SPRAYWATCH_CLIENT_CERT_SUBJECT_HEADER", DEFAULT_CLIENT_CERT_SUBJECT_HEADER
    )
    fingerprint = getattr(
        settings,
        "SPRAYWATCH_CLIENT_CERT_FINGERPRINT_HEADER",
        DEFAULT_CLIENT_CERT_FINGERPRINT_HEADER,
    )
    return subject, fingerprint


def client_cert_meta_keys() -> Tuple[str, str]:
    """Returns the META keys of the client-certificate subject and fingerprint headers."""
    subject, fingerprint = client_cert_headers()
    return meta_key(subject), meta_key(fingerprint)


#: The SPRAYWATCH_TRUSTED_PROXIES entry trusting a peer on a unix socket.
UNIX_SOCKET = "unix"

_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def _ipv4_mapped_network(net: IPNetwork) -> IPNetwork:
    """Returns an IPv4-mapped IPv6 network (::ffff:10.0.0.0/104) as IPv4 (10.0.0.0/8).

    Addresses are compared after the same mapping (see parse_address), so
    an entry copied from a dual-stack server's REMOTE_ADDR matches.
    """
    if (
        isinstance(net, ipaddress.IPv6Network)
        and net.prefixlen >= 96
        and net.subnet_of(_IPV4_MAPPED)
    ):
        return ipaddress.ip_network(
            "%s/%d" % (net.network_address.ipv4_mapped, net.prefixlen - 96)
        )
    return net


@functools.lru_cache(maxsize=8)
def _parse_trusted(entries: Tuple[str, ...]) -> Tuple[Tuple[IPNetwork, ...], bool]:
    nets = []
    unix = False
    for entry in entries:
        text = str(entry).strip()
        if text.lower() == UNIX_SOCKET:
            unix = True
            continue
        if text.lower().startswith("unix:"):
            raise ImproperlyConfigured(
                'SPRAYWATCH_TRUSTED_PROXIES: %r: write "unix" to trust a peer on a unix '
                "socket (which socket is not known to Django)" % (entry,)
            )
        try:
            nets.append(_ipv4_mapped_network(ipaddress.ip_network(text, strict=False)))
        except ValueError as exc:
            raise ImproperlyConfigured(
                "SPRAYWATCH_TRUSTED_PROXIES: %r is not an IP address, CIDR network or "
                '"unix": %s' % (entry, exc)
            ) from None
    return tuple(nets), unix


def _trusted() -> Tuple[Tuple[IPNetwork, ...], bool]:
    entries = getattr(settings, "SPRAYWATCH_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
    if isinstance(entries, str):
        raise ImproperlyConfigured(
            "SPRAYWATCH_TRUSTED_PROXIES must be a list of addresses or networks, not a string"
        )
    return _parse_trusted(tuple(entries))


def trusted_networks() -> Tuple[IPNetwork, ...]:
    """Returns the networks of SPRAYWATCH_TRUSTED_PROXIES (IPv4-mapped ones as IPv4)."""
    return _trusted()[0]


def trusts_unix_socket() -> bool:
    """Reports whether SPRAYWATCH_TRUSTED_PROXIES holds "unix"."""
    return _trusted()[1]


def parse_address(value: Optional[str]) -> Optional[IPAddress]:
    """Parses an address as found in REMOTE_ADDR or X-Forwarded-For.

    Accepts "1.2.3.4", "1.2.3.4:5678", "::1", "[::1]" and "[::1]:5678";
    drops an IPv6 zone; maps IPv4-mapped IPv6 addresses to IPv4. Returns None
    for anything else.
    """
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        value = value[1:end]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_trusted(addr: Optional[IPAddress]) -> bool:
    """Reports whether addr belongs to SPRAYWATCH_TRUSTED_PROXIES."""
    if addr is None:
        return False
    return any(addr.version == net.version and addr in net for net in trusted_networks())


def peer_is_unix_socket(request) -> bool:
    """Reports whether the request came over a unix socket, as far as Django can tell.

    gunicorn bound to a unix socket sets REMOTE_ADDR to ""; an ASGI server
    gives a scope without a client, and Django then sets no REMOTE_ADDR.
    """
    return not request.META.get("REMOTE_ADDR")


def peer_is_trusted_proxy(request) -> bool:
    """Reports whether the request's direct peer (REMOTE_ADDR) is a trusted proxy.

    A peer without an address (a unix socket) is one only when
    SPRAYWATCH_TRUSTED_PROXIES holds "unix".
    """
    if peer_is_unix_socket(request):
        return trusts_unix_socket()
    return is_trusted(parse_address(request.META.get("REMOTE_ADDR")))


def client_ip(request) -> Optional[str]:
    """Returns the address of the client that sent request.

    REMOTE_ADDR, unless the peer is a trusted proxy: then the
    X-Forwarded-For chain is walked from the right and the first address that
    is not a trusted proxy is the client (the left-most entries are whatever
    the client claimed and are never taken blindly). If every hop is trusted
    the left-most one is returned; an unparsable hop stops the walk at the
    last good address. A peer on a unix socket has no address: with
    "unix" trusted the chain alone gives the client (None if it is empty),
    otherwise the client is unknown (None).
    """
    remote = request.META.get("REMOTE_ADDR")
    if peer_is_unix_socket(request):
        if not trusts_unix_socket():
            return None
        peer = None
    else:
        peer = parse_address(remote)
        if peer is None:
            return remote
        if not is_trusted(peer):
            return str(peer)
    chain = (
        headers.joined(request, forwarded_for_header(), forwarded_for_meta_key()) or ""
    )
    client = peer
    for hop in reversed([h for h in chain.split(",") if h.strip()]):
        addr = parse_address(hop)
        if addr is None:
            break
        client = addr
        if not is_trusted(addr):
            break
    return None if client is None else str(client)


def username_mode() -> str:
    mode = getattr(settings, "SPRAYWATCH_USERNAME_MODE", "plain")
    if mode not in USERNAME_MODES:
        raise ImproperlyConfigured(
            "SPRAYWATCH_USERNAME_MODE must be one of %s, not %r" % (", ".join(USERNAME_MODES), mode)
        )
    return mode


@functools.lru_cache(maxsize=4)
def _read_key_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ImproperlyConfigured(
            "reading SPRAYWATCH_USERNAME_HMAC_KEY_FILE %s: %s" % (path, exc.strerror or exc)
        ) from None
    return data.rstrip(b"\r\n")


def hmac_key() -> bytes:
    """Returns the username HMAC key.

    SPRAYWATCH_USERNAME_HMAC_KEY (str, UTF-8 encoded, or bytes) wins over
    SPRAYWATCH_USERNAME_HMAC_KEY_FILE (the file's bytes without trailing
    CR/LF characters). An empty or missing key is an error.
    """
    key = getattr(settings, "SPRAYWATCH_USERNAME_HMAC_KEY", None)
    path = getattr(settings, "SPRAYWATCH_USERNAME_HMAC_KEY_FILE", None)
    if key:
        return key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if path:
        data = _read_key_file(str(path))
        if not data:
            raise ImproperlyConfigured("SPRAYWATCH_USERNAME_HMAC_KEY_FILE %s is empty" % path)
        return data
    raise ImproperlyConfigured(
        'SPRAYWATCH_USERNAME_MODE = "hmac" needs SPRAYWATCH_USERNAME_HMAC_KEY '
        "or SPRAYWATCH_USERNAME_HMAC_KEY_FILE"
    )


def clear_caches() -> None:
    """Forgets parsed settings (called when a setting changes)."""
    _parse_trusted.cache_clear()
    _read_key_file.cache_clear()


def validate() -> None:
    """Checks every setting, raising ImproperlyConfigured on the first bad one."""
    _trusted()
    if username_mode() == "hmac":
        hmac_key()
