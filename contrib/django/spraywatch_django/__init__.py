"""Django integration for spraywatch.

Writes the JSON auth lines spraywatch joins with reverse-proxy access logs:
login successes, failures and lockouts carrying the request id that the
trusted proxy assigned, the attempted username (plain, keyed HMAC, or
omitted) and, when a trusted proxy forwards it, the client-certificate
identity.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "log_attempt"]


def log_attempt(request, username, succeeded, reason=None):
    """Logs a login attempt that Django's signals do not report.

    Django reports a failed authenticate() (user_login_failed) and a session
    login() (user_logged_in); the package logs those by itself. A flow that
    accepts a password otherwise leaves no line unless it calls this: a
    token endpoint returning a token without login() (log its success; its
    authenticate() failures are logged already), a view that checks
    user.check_password() itself (log both outcomes), a step that refuses a
    user whose password was right. Calling it where a signal was sent
    writes a second line for one request, which spraywatch reports as an
    app_only record.

    request is the request of the attempt (its request id, address and
    client certificate are logged), or None. username is what was typed
    for a failure and the account's username (user.get_username()) for a
    success, logged as SPRAYWATCH_USERNAME_MODE says. succeeded writes a
    login_succeeded line, else login_failed. reason, a short word such as
    "second_factor", is added to the line.
    """
    import logging

    from . import receivers

    if succeeded:
        event, level = receivers.LOGIN_SUCCEEDED, logging.INFO
    else:
        event, level = receivers.LOGIN_FAILED, logging.WARNING
    receivers.log_auth_event(event, level, request, username, reason=reason)
