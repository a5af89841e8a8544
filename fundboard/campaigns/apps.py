from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "fundboard.campaigns"
    verbose_name = "Campaigns and sources"
