from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FxConfig(AppConfig):
    name = "fundboard.fx"
    verbose_name = "Exchange rates"

    def ready(self) -> None:
        from fundboard.dashboard.roles import grant_app_to_organisers

        # Organisers set rates and re-rate; Moderators do not touch money.
        post_migrate.connect(grant_app_to_organisers, sender=self, dispatch_uid="fx.organisers")
