"""Fundboard settings, read from environment variables in this one module.

Embedded defaults (nothing set): SQLite under ./var, the in-memory channel layer, and the
ingestion running inside the web process. Production: set DATABASE_URL (PostgreSQL) and
REDIS_URL (channel layer, Celery broker, locks), SECRET_KEY and ALLOWED_HOSTS.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("FUNDBOARD_DATA_DIR", BASE_DIR / "var"))
DEBUG = env_bool("DEBUG", False)
# A fixed development key keeps the demo working out of the box; `check --deploy` flags it
# and production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-fundboard-development-key-change-me"
# Loopback names always answer too: container health checks call /healthz and /readyz there.
ALLOWED_HOSTS = sorted(set(env_list("ALLOWED_HOSTS", [])) | {"localhost", "127.0.0.1", "[::1]"})
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
REDIS_URL = os.environ.get("REDIS_URL", "")
# Namespaces every Redis key, channel and queue of this deployment (tests give each server
# its own, so runs sharing one Redis never hear each other).
REDIS_PREFIX = os.environ.get("FUNDBOARD_REDIS_PREFIX", "fundboard")

# No "daphne" app: its only gift is a websocket-capable `runserver`, and its apps.py imports
# Twisted (~0.3 s of CPU) into every Django process: Celery workers, beat, runstreams,
# management commands. `manage.py serve` runs daphne (or uvicorn) itself.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "fundboard.campaigns",
    "fundboard.ingest",
    "fundboard.live",
    "fundboard.sync",
    "fundboard.widgets",
    "fundboard.dashboard",
    "fundboard.webhooks",  # after dashboard: its post_migrate gives Organisers webhooks
    "fundboard.fx",  # exchange rates (issue 15)
    "fundboard.matching",  # sponsor match windows (issue 15)
    "fundboard.incentives",  # marathon incentives, allocation queue and schedule (issue 14)
    "fundboard.ops",
    "axes",  # login throttling: counts failed logins per username and address
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Widget pages opt out per view (they are meant to be framed); everything else is DENY.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A strict Content-Security-Policy on /admin/ and /dashboard/ (not on widget pages).
    "fundboard.dashboard.csp.StaffPagesCSPMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fundboard.urls"
ASGI_APPLICATION = "fundboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------------------
# PostgreSQL: no persistent connections (CONN_MAX_AGE=0). Under ASGI each request's sync code
# runs in its own thread, and a persistent connection stays with that thread: one connection
# per request, until PostgreSQL refuses clients. Instead each process has one psycopg pool of
# FUNDBOARD_DB_POOL_SIZE connections; closing a connection gives it back to the pool. 0 turns
# the pool off (a connection per request or task, closed after it: e.g. behind PgBouncer).
DB_POOL_SIZE = int(os.environ.get("FUNDBOARD_DB_POOL_SIZE", "10"))
# How long a request waits for a free pooled connection before it fails.
DB_POOL_TIMEOUT = float(os.environ.get("FUNDBOARD_DB_POOL_TIMEOUT", "10"))


def sqlite_database(path: str) -> dict[str, Any]:
    """SQLite settings, the same whether the path came from DATABASE_URL or the default."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # The web server, the stream runner and the pollers share one file in
            # embedded mode: WAL lets readers go on while one writer commits.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


def url_database(url: str) -> dict[str, Any]:
    """Settings for DATABASE_URL: SQLite gets sqlite_database's, PostgreSQL a bounded pool."""
    database: dict[str, Any] = {
        **dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    }
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return sqlite_database(database["NAME"])
    if database["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_SIZE > 0:
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_SIZE,
            "timeout": DB_POOL_TIMEOUT,
            # Connections above min_size that sat unused this long are closed.
            "max_idle": 60,
        }
    return database


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": url_database(os.environ["DATABASE_URL"])}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    default_path = os.environ.get("FUNDBOARD_SQLITE_PATH", str(DATA_DIR / "fundboard.sqlite3"))
    DATABASES = {"default": sqlite_database(default_path)}

if REDIS_URL:
    # One group member per web process (the hub), so the pub/sub layer's fan-out is cheap
    # and a killed process leaves no zombie member behind (its subscription dies with it).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": REDIS_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# --- Login throttling (django-axes), on the one login page: /admin/login/ -------------------
# After FUNDBOARD_LOGIN_FAILURE_LIMIT failed logins for one username from one address, that
# pair is locked out for FUNDBOARD_LOGIN_LOCKOUT_MINUTES (the right password too: HTTP 429).
# Staff unlock in the admin (Axes > Access attempts) or with `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out pair before any password is checked.
    "fundboard.dashboard.login_throttle.WebLoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("FUNDBOARD_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("FUNDBOARD_LOGIN_LOCKOUT_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address: behind our proxy, the X-Forwarded-For entry nginx added; else the peer.
AXES_CLIENT_IP_CALLABLE = "fundboard.dashboard.login_throttle.client_ip"
AXES_LOCKOUT_TEMPLATE = "dashboard/locked_out.html"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# Languages the public widgets are translated into (fundboard/widgets/locale/, .mo committed:
# no gettext needed to run). Widget pages pick one per request from `?lang=` or `?locale=`.
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("pt-br", "Português (Brasil)"),
]
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise has no type for .wav (the alert sounds); octet-stream would do, audio/wav is right.
WHITENOISE_MIMETYPES = {".wav": "audio/wav"}
if env_bool("FUNDBOARD_COLLECTED_STATIC", False):
    STATIC_ROOT: Path | None = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
    # Production: `collectstatic` ran; serve compressed files with hashed names, cached forever.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
else:
    # Embedded mode: no collectstatic step, WhiteNoise serves straight from the app folders.
    STATIC_ROOT = Path(os.environ["STATIC_ROOT"]) if os.environ.get("STATIC_ROOT") else None
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = DEBUG

# Security headers; the secure-cookie and HSTS settings switch on behind HTTPS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
HTTPS = env_bool("FUNDBOARD_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("FUNDBOARD_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(
    os.environ.get("FUNDBOARD_HSTS_SECONDS", "0" if not HTTPS else "31536000")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
FUNDBOARD_BEHIND_PROXY = env_bool("FUNDBOARD_BEHIND_PROXY", False)
if FUNDBOARD_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery (production pollers). Without REDIS_URL the same poll functions run on the
# in-process scheduler of `manage.py serve` instead.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = f"{REDIS_PREFIX}.polls"
CELERY_TASK_ACKS_LATE = False
# Celery's Redis transport re-delivers unacknowledged tasks after visibility_timeout; keep it
# longer than any poll can take (and the same for every worker) so nothing runs twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-polls": {
        "task": "fundboard.sync.tasks.dispatch_due_polls",
        "schedule": float(os.environ.get("FUNDBOARD_DISPATCH_EVERY", "1.0")),
        # A dispatch queued during an outage is worthless later: expire it.
        "options": {"expires": 5},
    },
    # Webhook retries that came due, and endpoints whose worker died (fundboard/webhooks).
    "dispatch-due-webhooks": {
        "task": "fundboard.webhooks.tasks.dispatch_due_webhooks",
        "schedule": 5.0,
    },
    # The optional exchange-rates feed (fundboard/fx/feed.py); does nothing when unset.
    "fetch-rates": {
        "task": "fundboard.fx.tasks.fetch_rates_task",
        "schedule": float(os.environ.get("FUNDBOARD_RATES_EVERY", "3600")),
        "options": {"expires": 60},
    },
    # Incentives whose open or close time passed are announced (fundboard/incentives/clock.py).
    "announce-incentive-changes": {
        "task": "fundboard.incentives.tasks.announce_incentive_changes",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
}

# Optional allow-list of upstream hosts sources may talk to: comma-separated `host`,
# `*.example.org` or `host:port` patterns; unset allows any host. Checked when a source is
# saved and before its key is used (fundboard/campaigns/upstream.py).
FUNDBOARD_UPSTREAM_HOSTS = env_list("FUNDBOARD_UPSTREAM_HOSTS", [])

# Fundboard's own settings (mixed value types, each read where it is used).
FUNDBOARD: dict[str, Any] = {
    # No source is polled more often than this, whatever its own interval says.
    "POLL_FLOOR_SECONDS": float(os.environ.get("FUNDBOARD_POLL_FLOOR_SECONDS", "5")),
    # Burst coalescing window for snapshots (every donation still gets its own event), and
    # the longer one a campaign gets while changes keep coming (bench/bench_scale.py).
    "COALESCE_SECONDS": float(os.environ.get("FUNDBOARD_COALESCE_MS", "100")) / 1000,
    "COALESCE_BUSY_SECONDS": float(os.environ.get("FUNDBOARD_COALESCE_BUSY_MS", "250")) / 1000,
    # Run stream runners and pollers inside `manage.py serve` (embedded mode).
    "EMBEDDED_INGEST": env_bool("FUNDBOARD_EMBEDDED_INGEST", not REDIS_URL),
    # Optional allow-list of webhook hosts (`host`, `*.example.org`, `host:port`); unset: any.
    "WEBHOOK_HOSTS": env_list("FUNDBOARD_WEBHOOK_HOSTS", []),
    "MAX_DONATION_AMOUNT": os.environ.get("FUNDBOARD_MAX_DONATION_AMOUNT", "1000000"),
    # Donations older than this when they arrive (history, long backfills) raise no alert.
    "ALERT_MAX_AGE_SECONDS": float(os.environ.get("FUNDBOARD_ALERT_MAX_AGE_SECONDS", "600")),
    # Optional global exchange rates: a JSON {"base", "rates"} document (fundboard/fx/feed.py).
    "RATES_URL": os.environ.get("FUNDBOARD_RATES_URL", ""),
    "RATES_EVERY_SECONDS": float(os.environ.get("FUNDBOARD_RATES_EVERY", "3600")),
    # How often the stream supervisor rescans sources, and a stream lease's time to live.
    "STREAM_SCAN_SECONDS": float(os.environ.get("FUNDBOARD_STREAM_SCAN_SECONDS", "1.0")),
    "STREAM_LEASE_SECONDS": float(os.environ.get("FUNDBOARD_STREAM_LEASE_SECONDS", "6")),
    # A reconciliation that would remove more donations than this waits for staff.
    "MASS_REMOVAL_THRESHOLD": int(os.environ.get("FUNDBOARD_MASS_REMOVAL_THRESHOLD", "5")),
    # `manage.py serve`'s ASGI server when --server is not given: daphne or uvicorn.
    "ASGI_SERVER": os.environ.get("FUNDBOARD_ASGI_SERVER", "daphne"),
    # The hub writes ready-made frames straight to idle sockets (fundboard/live/direct.py).
    "DIRECT_FRAMES": env_bool("FUNDBOARD_DIRECT_FRAMES", True),
    # /metrics behind a bearer token when set; a metrics port of its own for the stream
    # runners and Celery workers (fundboard/ops/metrics.py).
    "METRICS_TOKEN": os.environ.get("FUNDBOARD_METRICS_TOKEN", ""),
    "METRICS_PORT": int(os.environ.get("FUNDBOARD_METRICS_PORT") or 0),
    "METRICS_ADDR": os.environ.get("FUNDBOARD_METRICS_ADDR", "127.0.0.1"),
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "fundboard.ops.logging.RedactSecretsFilter"}},
    "formatters": {"keyvalue": {"()": "fundboard.ops.logging.KeyValueFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "keyvalue",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # httpx logs every request URL at INFO, and a P2P key travels in the query string.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # Beat logs "Scheduler: Sending due task dispatch-due-polls" every second, and the
        # worker a "received" and a "succeeded" line per task: at INFO they bury everything else.
        "celery.beat": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},  # "Task ... received", as often
    },
}
