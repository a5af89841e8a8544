"""Keeping the stored donations in step with the platforms: what the runners (fundboard/runners)
record as they go (each stream's last activity, removals held for staff in `pending`) and the
Celery tasks of the distributed mode (`tasks`: beat's dispatch of due polls, the poll itself).
The processes that run all this are started by fundboard/ops's commands (serve, runstreams)."""
