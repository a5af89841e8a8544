from django.core.management.base import BaseCommand, CommandError

from fundboard.campaigns.models import Campaign
from fundboard.incentives.schedule_csv import MAX_BYTES, ScheduleCSVError, import_schedule


class Command(BaseCommand):
    help = "Create or update a campaign's run schedule from a CSV file (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the campaign")
        parser.add_argument("path", help="the CSV file: title,start,estimate,incentives")

    def handle(self, *args, slug, path, **options):
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is None:
            raise CommandError(f"no campaign {slug!r}")
        try:
            with open(path, "rb") as file:
                created, updated = import_schedule(campaign, file.read(MAX_BYTES + 1))
        except (ScheduleCSVError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"{slug}: {created} runs created, {updated} updated"))
