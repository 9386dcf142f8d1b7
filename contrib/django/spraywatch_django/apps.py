"""Application config: validates settings and connects the auth receivers."""

from django.apps import AppConfig, apps
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.signals import setting_changed

from . import conf


def _on_setting_changed(sender, setting, **kwargs):
    if setting.startswith("SPRAYWATCH_"):
        conf.clear_caches()


class SpraywatchDjangoConfig(AppConfig):
    """Connects user_logged_in, user_login_failed and, with django-axes, user_locked_out."""

    name = "spraywatch_django"
    label = "spraywatch_django"
    verbose_name = "spraywatch"

    def ready(self):
        from . import receivers

        conf.validate()
        setting_changed.connect(_on_setting_changed, dispatch_uid="spraywatch_django.settings")
        user_locked_out = None
        if apps.is_installed("axes"):
            # Importing axes.signals connects django-axes' user_login_failed
            # handler, which sends user_locked_out. Doing it before connecting
            # ours makes axes' handler run first whatever the order of
            # INSTALLED_APPS, so that our receiver knows whether the attempt
            # was locked out and writes one line for it (see receivers.py).
            try:
                from axes.signals import user_locked_out
            except ImportError:
                user_locked_out = None
        user_logged_in.connect(
            receivers.on_user_logged_in, dispatch_uid="spraywatch_django.user_logged_in"
        )
        user_login_failed.connect(
            receivers.on_user_login_failed, dispatch_uid="spraywatch_django.user_login_failed"
        )
        if user_locked_out is not None:
            user_locked_out.connect(
                receivers.on_user_locked_out, dispatch_uid="spraywatch_django.user_locked_out"
            )
