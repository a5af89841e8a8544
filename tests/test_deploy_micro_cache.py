"""The nginx micro-cache (deploy/nginx.conf) must never fill its tmpfs (docker-compose.yml).

A cache write that fails for want of space aborts the answer being written: the client gets a
closed connection while the access log says 200 with 0 bytes. That is what the uncached phase
of bench/bench_read_path.py measured as unexplained failed requests (docs/benchmarks.md
section 11). nginx enforces max_size only when its cache manager wakes, and with nothing
inactive to delete it wakes every min(inactive, 10 s); between two wake-ups every miss adds a
file. So the tmpfs must hold max_size plus that many seconds of misses. The two numbers live
in two files; this keeps them in step.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What the compose stack's two replicas answered through nginx at best on the development
# machine (~1,100/s), with room; and a JSON answer's cache file on tmpfs (8.3 KB -> 3 pages).
MISSES_PER_SECOND = 1_500
CACHE_FILE_BYTES = 12 * 1024
MANAGER_LONGEST_SLEEP = 10  # seconds: ngx_http_file_cache_expire caps its wait at 10

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _bytes(text: str) -> int:
    size = re.fullmatch(r"(\d+)([kmg]?)", text.lower())
    assert size, f"not a size: {text}"
    return int(size.group(1)) * _UNITS[size.group(2)]


def _seconds(text: str) -> int:
    time = re.fullmatch(r"(\d+)([smhd]?)", text.lower())
    assert time, f"not a time: {text}"
    return int(time.group(1)) * _SECONDS[time.group(2)]


def _cache_path_parameters() -> dict[str, str]:
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    directive = re.search(r"^proxy_cache_path\s+([^;]+);", conf, re.MULTILINE)
    assert directive, "deploy/nginx.conf has no proxy_cache_path"
    path, *params = directive.group(1).split()
    assert path == "/var/cache/nginx-micro"
    return dict(param.split("=", 1) for param in params)


def _tmpfs_size() -> int:
    compose = (REPO / "docker-compose.yml").read_text()
    mount = re.search(r"/var/cache/nginx-micro:size=(\w+)", compose)
    assert mount, "docker-compose.yml mounts no sized tmpfs for the micro-cache"
    return _bytes(mount.group(1))


def test_the_tmpfs_holds_max_size_plus_the_misses_between_two_cache_manager_checks():
    params = _cache_path_parameters()
    inactive = _seconds(params.get("inactive", "10m"))  # nginx's default is 10 minutes
    between_checks = min(inactive, MANAGER_LONGEST_SLEEP)
    headroom = _tmpfs_size() - _bytes(params["max_size"])
    needed = between_checks * MISSES_PER_SECOND * CACHE_FILE_BYTES
    assert headroom >= needed, (
        f"the micro-cache's tmpfs leaves {headroom >> 20} MB above max_size; "
        f"{between_checks} s of misses at {MISSES_PER_SECOND}/s need {needed >> 20} MB"
    )
