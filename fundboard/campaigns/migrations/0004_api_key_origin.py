"""API keys bound to the origin they were entered for (issue 12, finding 5).

The key column keeps its name ("api_key"); the model field is now `stored_api_key`, read
through `Source.api_key`, which gives the key only to the origin in `api_key_origin`.
Existing keys are bound to the origin their source points at today.
"""

from urllib.parse import urlsplit

from django.db import migrations, models

# The platform addresses as they were when this migration was written (blank base_url).
DEFAULT_BASE_URLS = {"imraising": "https://imraising.tv", "actionnetwork": "https://actionnetwork.org"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url):
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"invalid:{url}"
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS.get(scheme, 0)}"


def bind_existing_keys(apps, schema_editor):
    Source = apps.get_model("campaigns", "Source")
    for source in Source.objects.exclude(stored_api_key=""):
        url = (source.base_url or DEFAULT_BASE_URLS.get(source.kind, "")).rstrip("/")
        source.api_key_origin = origin_of(url)
        source.save(update_fields=["api_key_origin"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_base_url_any_host"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("source", "api_key", "stored_api_key"),
                migrations.AlterField(
                    model_name="source",
                    name="stored_api_key",
                    field=models.CharField(blank=True, db_column="api_key", max_length=500),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="source",
            name="api_key_origin",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The scheme://host:port the API key was entered for; it is sent nowhere else.",
                max_length=300,
            ),
        ),
        migrations.RunPython(bind_existing_keys, migrations.RunPython.noop),
    ]
