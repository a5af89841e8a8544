from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _grant_organisers(sender, **kwargs) -> None:
    from django.apps import apps

    from fundboard.dashboard.roles import ORGANISERS

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    organisers, _ = Group.objects.get_or_create(name=ORGANISERS)
    organisers.permissions.add(*Permission.objects.filter(content_type__app_label="matching"))


class MatchingConfig(AppConfig):
    name = "fundboard.matching"
    verbose_name = "Sponsor matches"

    def ready(self) -> None:
        post_migrate.connect(_grant_organisers, sender=self, dispatch_uid="matching.organisers")
