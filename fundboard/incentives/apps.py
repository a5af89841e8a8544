from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "fundboard.incentives"
    verbose_name = "Marathon incentives"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 (connects the signal receivers)
