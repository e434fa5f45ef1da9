"""How every benchmark measures: variants interleaved (one request of each in turn), medians."""

import statistics
import time

REQUESTS = 21
REPEATS = 3


def interleaved(variants: dict, requests: int = REQUESTS, repeats: int = REPEATS) -> dict[str, float]:
    """{name: median seconds} of calling each variant `requests × repeats` times, taking turns, so a
    slow moment of the machine falls on every variant alike."""
    samples = {name: [] for name in variants}
    for function in variants.values():
        function()  # warm caches and compiled templates
    for _ in range(repeats):
        for _ in range(requests):
            for name, function in variants.items():
                start = time.perf_counter()
                function()
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def ratio(mine: float, peer: float) -> float:
    return round(mine / peer, 3) if peer else float("nan")


def table(title: str, rows: list[tuple]) -> None:
    """Print rows of (label, mine ms, peer ms, ratio) under a title."""
    print(title)
    print(f"  {'work':<44} {'imsperm':>10} {'peer':>10} {'ratio':>7}")
    for label, mine, peer, value in rows:
        peer_text = f"{peer * 1e3:8.1f}ms" if peer is not None else f"{'':>10}"
        ratio_text = f"{value:7.2f}" if value is not None else ""
        print(f"  {label:<44} {mine * 1e3:8.1f}ms {peer_text} {ratio_text}")


def setup_in_memory_django() -> None:
    """Django on a throw-away in-memory SQLite database, with fast hashing, the test client's host
    allowed and no per-request log line: the set-up of every benchmark needing no database of its own."""
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ.setdefault("IMSPERM_LOG_LEVEL", "WARNING")  # no request log line inside timed pages
    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
