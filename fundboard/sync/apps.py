from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "fundboard.sync"
    verbose_name = "Sync (pollers and streams)"
