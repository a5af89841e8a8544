"""Creates the "Organisers" and "Moderators" groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran (post_migrate); create
    # them now so the groups can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from fundboard.dashboard.roles import sync_roles

    sync_roles(apps)


def remove_roles(apps, schema_editor):
    from fundboard.dashboard.roles import MODERATORS, ORGANISERS

    apps.get_model("auth", "Group").objects.filter(name__in=[ORGANISERS, MODERATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("campaigns", "0002_staff_requests"),
        ("ingest", "0001_initial"),
        ("dashboard", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
