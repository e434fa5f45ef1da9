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
