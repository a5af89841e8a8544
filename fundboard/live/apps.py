from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "fundboard.live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
