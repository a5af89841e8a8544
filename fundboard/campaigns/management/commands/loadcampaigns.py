from django.core.management.base import BaseCommand, CommandError

from fundboard.campaigns.loader import ConfigError, load_campaigns_file


class Command(BaseCommand):
    help = "Create or update campaigns and their sources from a TOML file (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the campaigns file, e.g. campaigns.toml")

    def handle(self, *args, path, **options):
        try:
            report = load_campaigns_file(path)
        except (ConfigError, OSError) as error:
            raise CommandError(str(error)) from None
        for line in report.created:
            self.stdout.write(f"created {line}")
        for line in report.updated:
            self.stdout.write(f"updated {line}")
        self.stdout.write(self.style.SUCCESS(f"Loaded {path}: {report}"))
