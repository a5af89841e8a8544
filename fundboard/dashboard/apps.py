from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    from django.apps import apps

    from .roles import sync_roles

    sync_roles(apps)


class DashboardConfig(AppConfig):
    name = "fundboard.dashboard"
    verbose_name = "Staff dashboard"

    def ready(self) -> None:
        # After every migrate: Organisers also get the permissions of models added later.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="dashboard.sync_roles")
