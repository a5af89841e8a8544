from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _grant_organisers(sender, **kwargs) -> None:
    from django.apps import apps

    from .roles import grant_organisers

    grant_organisers(apps)


class WebhooksConfig(AppConfig):
    name = "fundboard.webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
        # Organisers run webhooks; Moderators never see them (their URLs may carry tokens).
        post_migrate.connect(_grant_organisers, sender=self, dispatch_uid="webhooks.organisers")
