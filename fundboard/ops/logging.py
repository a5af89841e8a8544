"""Log formatting and the last line of defence that keeps API keys out of log lines."""

from __future__ import annotations

import logging
import re

__all__ = ["redact", "RedactSecretsFilter", "KeyValueFormatter"]

# Query-string keys (`apiKey=`, `apikey=`, `api_key=`), the ImRaising header value and an
# `api-key:` header, wherever they appear in a message.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(api[-_]?key\s*[=:]\s*\"?)([^\s\"&,;]+)"),
    re.compile(r"(?i)(apikey\s+apikey=\")([^\"]+)"),
]


def redact(text: str, *secrets: str) -> str:
    """`text` with known secrets and anything shaped like an API key parameter masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class KeyValueFormatter(logging.Formatter):
    """`time level logger message` on one line; messages carry their own key=value pairs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
