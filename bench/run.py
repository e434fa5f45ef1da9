"""`make bench`: every benchmark, each figure a ratio against a peer measured in the same run.

Each section runs in its own process (its own database and settings) and hands back a JSON
section; this script prints their tables and writes bench/results.json:

- decisions (bench/decisions.py): the crowded user's decision time against pycasbin and the plain evaluator,
  the conditioned crowded user's (bench/conditional.py) against pycasbin and Cedar (cedarpy);
- engine (bench/engine.py): compiled documents, the service's caches, wildcards and the validator
  endpoint, each against its naive peer (printed; no figures kept);
- pages (bench/pages.py): the image list against a Django admin changelist of the same table, at
  10k and 100k images (add 1M with --million) on SQLite; the same on PostgreSQL with
  --postgres URL (a database of your own: it is emptied and filled);
- orm (bench/orm_public.py): the app's prepared reads (accounts/prepared.py) against the public ORM;
- scale: page 1 and the deep page of the list at each size, as a ratio to the smallest.

    python bench/run.py [--million] [--sizes 10000,100000]
                        [--postgres postgres://user@host/db [--postgres-sizes 10000,100000]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
DEFAULT_SIZES = (10_000, 100_000)
MILLION = 1_000_000
# The page figures quoted at one size (the targets are set at 100k, the search at 1M).
HEADLINE_SIZE = 100_000


def section(script: str, *arguments: str) -> dict:
    """Run one benchmark module in a fresh interpreter; its JSON output."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, str(HERE / script), *arguments, "--out", out.name], check=True)
        return json.loads(Path(out.name).read_text())


def scale_figures(by_size: dict[int, dict]) -> dict:
    """Page 1 and deep page time at each size, and their ratio to the smallest size."""
    sizes = sorted(by_size)
    smallest = by_size[sizes[0]]["ms"]
    figures = {"page1_ms": {}, "deep_ms": {}}
    for size in sizes:
        ms = by_size[size]["ms"]
        figures["page1_ms"][str(size)] = ms["list"]
        figures["deep_ms"][str(size)] = ms["deep"]
        if size != sizes[0]:
            label = f"{size // 1000}k" if size < MILLION else f"{size // MILLION}m"
            base = f"{sizes[0] // 1000}k"
            figures[f"scale_{label}_vs_{base}"] = round(ms["list"] / smallest["list"], 3)
            figures[f"scale_{label}_vs_{base}_deep"] = round(ms["deep"] / smallest["deep"], 3)
    return figures


def pages(sizes, database_url: str = "") -> dict:
    by_size = {}
    for size in sizes:
        arguments = ["--images", str(size)] + (["--database-url", database_url] if database_url else [])
        by_size[size] = section("pages.py", *arguments)
    headline = by_size.get(HEADLINE_SIZE) or by_size[max(by_size)]
    largest = by_size[max(by_size)]
    summary = {key: headline[key] for key in ("list_vs_admin", "deep_vs_admin", "sort_vs_admin", "list_queries",
                                              "list_queries_equal")}
    summary["search_vs_admin"] = largest["search_vs_admin"]
    summary["search_common_vs_admin"] = headline.get("search_common_vs_admin")  # a word many names share
    summary["search_measured_at"] = largest["images"]
    summary["measured_at"] = headline["images"]
    print_scale(scale := scale_figures(by_size))
    return {**summary, "scale": scale, "by_size": {str(size): result for size, result in by_size.items()}}


def print_scale(scale: dict) -> None:
    print("scale: the image list at each size")
    for size, ms in scale["page1_ms"].items():
        print(f"  {int(size):>9,} images: page 1 {ms:7.1f} ms, deep page {scale['deep_ms'][size]:7.1f} ms")
    for key, value in scale.items():
        if key.startswith("scale_"):
            print(f"  {key}: {value}")


def main():
    parser = argparse.ArgumentParser(description="imsperm benchmarks")
    parser.add_argument("--million", action="store_true", help="add a run at 1,000,000 images (minutes)")
    parser.add_argument("--postgres", default="", help="also run the pages on this PostgreSQL database")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--postgres-sizes", default=",".join(map(str, DEFAULT_SIZES)))
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")] + ([MILLION] if options.million else [])
    results = {"decisions": section("decisions.py"), "engine": section("engine.py"), "orm": section("orm_public.py"),
               "sqlite": pages(sizes), "postgresql": None}
    if options.postgres:
        results["postgresql"] = pages([int(size) for size in options.postgres_sizes.split(",")], options.postgres)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
