from django.apps import AppConfig


class WidgetsConfig(AppConfig):
    name = "fundboard.widgets"
    verbose_name = "Widgets"
