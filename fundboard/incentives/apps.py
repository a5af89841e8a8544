from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "fundboard.incentives"
    verbose_name = "Marathon incentives"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from fundboard.dashboard.roles import grant_app_to_organisers

        from . import receivers  # noqa: F401 (connects the signal receivers)

        # Organisers edit runs and incentives in the dashboard (editor.py).
        post_migrate.connect(
            grant_app_to_organisers, sender=self, dispatch_uid="incentives.organisers"
        )
