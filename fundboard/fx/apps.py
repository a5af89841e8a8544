from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _grant_organisers(sender, **kwargs) -> None:
    from django.apps import apps

    from fundboard.dashboard.roles import ORGANISERS

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    organisers, _ = Group.objects.get_or_create(name=ORGANISERS)
    organisers.permissions.add(*Permission.objects.filter(content_type__app_label="fx"))


class FxConfig(AppConfig):
    name = "fundboard.fx"
    verbose_name = "Exchange rates"

    def ready(self) -> None:
        # Organisers set rates and re-rate; Moderators do not touch money.
        post_migrate.connect(_grant_organisers, sender=self, dispatch_uid="fx.organisers")
