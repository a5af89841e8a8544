from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "fundboard.ops"
    verbose_name = "Operations"
