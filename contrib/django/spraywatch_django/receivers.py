"""Signal receivers writing spraywatch's JSON auth lines.

Each line is logged to the "spraywatch.auth" logger; with JSONFormatter it reads

    {"timestamp":"2026-12-04T09:00:01.123456Z","level":"warning","logger":"spraywatch.auth",
     "event":"login_failed","request_id":"<id>","username":"alice","ip":"10.0.0.1"}

followed by tls_client_subject / tls_client_fingerprint when ClientCertMiddleware
found a certificate.
"""

import logging
import re
from typing import Optional, Tuple

from django.contrib.auth import get_user_model

from . import conf, headers
from .context import current_request_id
from .formatter import FIELDS_ATTR
from .middleware import new_local_request_id
from .username import logged_username_and_truncated

LOGGER_NAME = "spraywatch.auth"

logger = logging.getLogger(LOGGER_NAME)

LOGIN_SUCCEEDED = "login_succeeded"
LOGIN_FAILED = "login_failed"
USER_LOCKED_OUT = "user_locked_out"


def _request_id(request) -> str:
    rid = getattr(request, "spraywatch_request_id", None) if request is not None else None
    if rid is None:
        rid = current_request_id()
    if rid is None:
        # No middleware saw this attempt: it cannot be a proxy request.
        rid = new_local_request_id()
        if request is not None:
            request.spraywatch_request_id = rid
            request.spraywatch_request_id_source = "local"
    return rid


def log_auth_event(
    event: str,
    level: int,
    request,
    username: Optional[str],
    ip: Optional[str] = None,
    reason: Optional[str] = None,
) -> None:
    """Logs one auth line for event about username.

    ip, when given, is used only if there is no request to take it from;
    reason, when given, is added last.
    """
    if not logger.isEnabledFor(level):
        return
    fields = {"request_id": _request_id(request)}
    name, truncated = logged_username_and_truncated(username)
    if name is not None:
        fields["username"] = name
        if truncated:
            fields["username_truncated"] = True
    if request is not None:
        ip = conf.client_ip(request)
    if ip:
        fields["ip"] = str(ip)
    cert = getattr(request, "spraywatch_client_cert", None) if request is not None else None
    if cert is not None:
        if cert.subject is not None:
            fields["tls_client_subject"] = cert.subject
        if cert.fingerprint is not None:
            fields["tls_client_fingerprint"] = cert.fingerprint
    if request is not None:
        conflicts = headers.conflicts(request)
        if conflicts:
            fields["proxy_header_conflict"] = ",".join(conflicts)
    if reason is not None:
        fields["reason"] = reason
    logger.log(level, event, extra={FIELDS_ATTR: fields})


#: Credential keys naming the user, tried after the user model's USERNAME_FIELD.
IDENTIFIER_KEYS = ("username", "email", "login")

# Keys whose values Django's authenticate() masks in user_login_failed
# (django.contrib.auth._clean_credentials): never a username.
_SECRET_KEY = re.compile("api|token|key|secret|password|signature", re.I)


def identifier_keys() -> Tuple[str, ...]:
    """Returns the credential keys that may hold the identifier typed, in order.

    The user model's USERNAME_FIELD, then "username" (what Django's login
    form passes whatever USERNAME_FIELD is), "email" (e-mail login backends
    and django-allauth on the default user model) and "login". A key Django
    would mask as secret is never among them.
    """
    field = getattr(get_user_model(), "USERNAME_FIELD", "username")
    keys = [field] + [k for k in IDENTIFIER_KEYS if k != field]
    return tuple(k for k in keys if not _SECRET_KEY.search(k))


def username_from_credentials(credentials) -> Optional[str]:
    """Returns the identifier the attempt named: the first non-empty identifier_keys() value.

    Only those keys are read; passwords and other secrets never are.
    """
    if not credentials:
        return None
    for key in identifier_keys():
        value = credentials.get(key)
        if value is not None and value != "":
            return str(value)
    return None


def success_username(user) -> Optional[str]:
    """Returns the username a success logs: the USERNAME_FIELD value of the user that logged in.

    Never anything read from the request: user_logged_in does not carry the
    credentials, and reading the login request's body would parse it before
    the view does (a multipart upload, a stream the view reads itself).
    """
    if user is None:
        return None
    return user.get_username()


#: Request attribute set once the refused login of its response is logged.
_REFUSED_LOGGED_ATTR = "_spraywatch_refused_login_logged"


def log_refused_login(request, response) -> None:
    """Logs a login_failed line for a login form that accepted the password but refused the user.

    authenticate() succeeds for an inactive user under
    AllowAllUsersModelBackend (or any backend that lets inactive users
    through), and then AuthenticationForm.confirm_login_allowed() refuses
    the login: no signal is sent, yet the password was right. So is a form
    that refuses a user otherwise (the admin's for a non-staff user). Seen
    through the response of the view that rendered the form
    (RequestIDMiddleware.process_template_response): an AuthenticationForm
    in its context whose user_cache is set (authenticate() returned a user)
    and which has errors. reason is "inactive" for Django's inactive-user
    error, "login_refused" otherwise.
    """
    if getattr(request, _REFUSED_LOGGED_ATTR, False):
        return
    context = getattr(response, "context_data", None)
    form = context.get("form") if isinstance(context, dict) else None
    from django.contrib.auth.forms import AuthenticationForm

    if not isinstance(form, AuthenticationForm) or not form.is_bound:
        return
    # user_cache is set by the form's clean() only, so the form has been
    # validated and reading its errors does not run authenticate() again.
    if getattr(form, "user_cache", None) is None or not form.errors:
        return
    setattr(request, _REFUSED_LOGGED_ATTR, True)
    from django.core.exceptions import NON_FIELD_ERRORS

    reason = "inactive" if form.has_error(NON_FIELD_ERRORS, "inactive") else "login_refused"
    username = form.cleaned_data.get("username")
    if username is None:
        username = form.user_cache.get_username()
    log_auth_event(LOGIN_FAILED, logging.WARNING, request, username, reason=reason)


def on_user_logged_in(sender, request=None, user=None, **kwargs):
    """Receiver for django.contrib.auth.signals.user_logged_in."""
    log_auth_event(LOGIN_SUCCEEDED, logging.INFO, request, success_username(user))


#: Attribute of a request set while django-axes has said that the attempt
#: being signalled is locked out, until the attempt's line is written.
_LOCKED_OUT_ATTR = "_spraywatch_axes_locked_out"


def on_user_login_failed(sender, credentials=None, request=None, **kwargs):
    """Receiver for django.contrib.auth.signals.user_login_failed.

    Writes one line per failed attempt: user_locked_out when django-axes
    locked the attempt out (its user_locked_out signal, sent from its own
    user_login_failed handler, which runs before this one, or its
    request.axes_locked_out flag), login_failed otherwise. Both read as a
    failure in spraywatch.
    """
    event = LOGIN_FAILED
    if request is not None and (
        getattr(request, _LOCKED_OUT_ATTR, False) or getattr(request, "axes_locked_out", False)
    ):
        event = USER_LOCKED_OUT
        try:
            delattr(request, _LOCKED_OUT_ATTR)
        except AttributeError:
            pass
    log_auth_event(event, logging.WARNING, request, username_from_credentials(credentials))


def on_user_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    """Receiver for django-axes' axes.signals.user_locked_out.

    django-axes sends it from inside the user_login_failed signal of the
    attempt it locks out (and of every later attempt while locked out), so
    the attempt's line is written by on_user_login_failed: here the request
    is only marked. Without a request nothing else can log it: it is
    logged here.
    """
    if request is not None:
        try:
            setattr(request, _LOCKED_OUT_ATTR, True)
            return
        except AttributeError:
            pass
    log_auth_event(USER_LOCKED_OUT, logging.WARNING, request, username, ip=ip_address)
