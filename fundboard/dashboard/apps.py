from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "fundboard.dashboard"
    verbose_name = "Staff dashboard"
