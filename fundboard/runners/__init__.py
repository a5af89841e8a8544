"""The runners: long-lived loops that keep Fundboard's numbers in step with the platforms.

A plain package, not a Django app (the `sync` app keeps the models, migrations, Celery tasks
and the `serve`, `demo` and `runstreams` commands that start these):

- `stream.py`      StreamRunner: one ImRaising source's stream, read and stored
- `backfill.py`    Backfiller: what the stream missed (the listing), and reconciliation
- `supervisor.py`  run_stream_sources: one runner per enabled source, restarts, leases
- `lease.py`       SourceLeases: one consumer per source across processes (Redis), renewed
                   on their own timer
- `sources.py`     the stream runners' database edge (what they read and write)
- `polling.py`     poll_source: one poll of an Action Network or P2P source, and its schedule
- `scheduler.py`   the embedded poll scheduler (Celery's tasks live in `sync/tasks.py`)
- `embedded.py`    everything above inside the web process (`manage.py serve`)
- `backoff.py`     the one retry policy every runner follows
- `locks.py`, `orm.py`, `tuning.py`, `keep_running.py`: small shared pieces

Per-source stream tuning lives in `Source.options` (seconds, see `sources.StreamSettings`):
read_timeout (45), connect_timeout (10), backoff_initial (1), backoff_max (60),
healthy_after (30), backfill_overlap (300), backfill_delay (1), reconcile_interval (default:
the source's poll interval).
"""
