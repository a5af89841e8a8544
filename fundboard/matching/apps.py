from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MatchingConfig(AppConfig):
    name = "fundboard.matching"
    verbose_name = "Sponsor matches"

    def ready(self) -> None:
        from fundboard.dashboard.roles import grant_app_to_organisers

        post_migrate.connect(
            grant_app_to_organisers, sender=self, dispatch_uid="matching.organisers"
        )
