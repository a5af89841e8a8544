from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "fundboard.incentives"
    verbose_name = "Marathon incentives"
