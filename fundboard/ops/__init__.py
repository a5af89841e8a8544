"""Operating Fundboard: the process commands (`manage.py serve`, `runstreams`, `demo`), the
health and metrics endpoints, and the key=value log format with its secret redaction."""
