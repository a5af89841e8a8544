from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "fundboard.ingest"
    verbose_name = "Donations"
