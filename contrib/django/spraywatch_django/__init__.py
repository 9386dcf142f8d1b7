"""Django integration for spraywatch.

Writes the JSON auth lines spraywatch joins with reverse-proxy access logs:
login successes, failures and lockouts carrying the request id that the
trusted proxy assigned, the attempted username (plain, keyed HMAC, or
omitted) and, when a trusted proxy forwards it, the client-certificate
identity.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
