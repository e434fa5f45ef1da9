"""Page benchmarks at one scale: the image list against a well-registered Django admin changelist of the
same table, same rows and page size, in one process, variants interleaved, DEBUG off.

Run by bench/run.py once per scale, each in its own process and database:
    python bench/pages.py --images 100000 --out /tmp/pages-100000.json [--database-url URL [--reuse]]
Without --database-url the database is a fresh SQLite file in a temporary folder.

Figures (all ratios are imsperm ÷ admin, measured in the same run; below 1 is faster):
- list_vs_admin: page 1 of a project's active private images, sorted by name;
- deep_vs_admin: page 1,000 of the active public images (the admin skips rows with OFFSET, the list
  follows a cursor; at scales with fewer pages, the last full page);
- search_vs_admin: a name substring in the Public tab (the admin's `search_fields`, LIKE '%…%'): a rare
  term (five characters of a hash), which the trigram index answers from a few matches;
- search_common_vs_admin: the same search for a word thousands of images share (COMMON_TERM, in one
  name in seven), which the list answers by testing each name while walking (images/list_plan.py);
- sort_vs_admin: page 1 sorted by status and by created (the slower of the two ratios);
- list_queries: queries of one list page; list_queries_equal: the same for 10 and 50 rows and for a
  user with 1 grant and one with 200 (10 groups × 20).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "imsperm.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "imsperm-benchmark-only-secret-key-not-for-serving")
    # Production settings, served over the test client's plain HTTP: no HTTPS redirect, no
    # per-request log line (both peers would pay for them alike, but they would blur the figures).
    os.environ.update({"DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0",
                       "DJANGO_SECURE_HSTS_SECONDS": "0", "IMSPERM_LOG_LEVEL": "WARNING"})
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # static files are not served here
    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.ROOT_URLCONF = "bench.urls"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic here: plain static storage, so pages render without a manifest.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


def build(images: int, reuse: bool = False) -> float:
    """Migrate, seed the personas, add the benchmark data; seconds taken. With `reuse`, a database that
    already holds images (a previous run's, built once) is measured as it is."""
    from django.core.management import call_command
    from django.db import connection

    from images.models import Image

    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("migrate", verbosity=0)
        if reuse and Image.objects.exists():
            return 0.0
        if connection.vendor != "sqlite":  # a database of the user's: start from empty tables
            call_command("flush", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=quiet)
        call_command("bench_data", images=images, users=1000, groups=200, policies=150, stdout=quiet)
    return time.perf_counter() - started


def client_for(username: str):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def getter(client, url: str, marker: bytes):
    def get():
        response = client.get(url, secure=True)
        assert response.status_code == 200, (url, response.status_code)
        return response
    assert marker in get().content, (url, marker)
    return get


def deep_cursor(client, project, query_string: str, page: int) -> tuple[str, int]:
    """The cursor the list's Next link carries on reaching `page` (found by walking the list, untimed),
    with the count and plan that the list's first page put in its own Next link."""
    import re
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    from django.test import RequestFactory

    from accounts.paging import CURSOR_PARAM, boundary_cursor, decode_cursor, keyset_page
    from images import selectors

    query = selectors.ImageQuery.from_request(RequestFactory().get(f"/images/?{query_string}"))
    first_page = client.get(f"/images/?project={project.name}&{query_string}", secure=True).content.decode()
    next_link = unescape(re.search(r'href="([^"]+)" rel="next"', first_page).group(1))
    carried = decode_cursor(parse_qs(urlsplit(next_link).query)[CURSOR_PARAM][0], selectors.Image,
                            [name.lstrip("-") for name in query.order])
    parts = [selectors._narrowed(part, query) for part in selectors.tab_parts(project, query.tab)]
    total = sum(part.count() for part in parts)
    page = max(2, min(page, total // query.size))
    position = (page - 1) * query.size  # the last row of the page before
    cursor, seen = "", 0
    while True:
        walked = keyset_page(parts, query.order, size=500, cursor=cursor)
        if seen + len(walked.rows) >= position:
            return boundary_cursor(walked.rows[position - seen - 1], query.order, position, count=carried.count,
                                   sorted_matches=carried.sorted_matches), page
        seen += len(walked.rows)
        cursor = walked.next_cursor


def count_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, secure=True)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, secure=True).status_code == 200
    return len(queries)


# A word one image name in seven holds (bench_data names images `<platform>-<purpose>-<hash>`).
COMMON_TERM = "ubuntu"


def search_term() -> str:
    """Five characters from the middle of a public image's name: a substring that matches a few images."""
    from images.models import Image

    name = Image.objects.filter(image_type="gold", status="active").order_by("name")[
        Image.objects.filter(image_type="gold").count() // 3].name
    return name[-6:-1]


def run(images: int, database_url: str, reuse: bool = False) -> dict:
    configure(database_url)
    from django.db import connection

    from accounts.models import Project
    from images.models import Image

    built = build(images, reuse)
    vendor = connection.vendor
    project = Project.objects.get(name="cn-north-4")
    viewer, admin = client_for("viewer"), client_for("admin")
    admin_url = "/bench-admin/images/image/"
    size = 10
    mine = f"/images/?project=cn-north-4&status=active&size={size}"
    peer = f"{admin_url}?project__id__exact={project.pk}&image_type__exact=private&status__exact=active"
    public = f"tab=public&status=active&size={size}"
    peer_public = f"{admin_url}?image_type__in=gold,market&status__exact=active"
    cursor, deep_page = deep_cursor(viewer, project, public, 1000)
    term = search_term()
    variants = {
        "list": getter(viewer, mine, b"data-image-id="),
        "admin list": getter(admin, peer, b"result_list"),
        "deep": getter(viewer, f"/images/?project=cn-north-4&{public}&cursor={cursor}", b"data-image-id="),
        "admin deep": getter(admin, f"{peer_public}&p={deep_page}", b"result_list"),
        "search": getter(viewer, f"/images/?project=cn-north-4&{public}&q={term}", b"data-image-id="),
        "admin search": getter(admin, f"{peer_public}&q={term}", b"result_list"),
        "search common": getter(viewer, f"/images/?project=cn-north-4&{public}&q={COMMON_TERM}", b"data-image-id="),
        "admin search common": getter(admin, f"{peer_public}&q={COMMON_TERM}", b"result_list"),
        "sort status": getter(viewer, f"{mine}&sort=status", b"data-image-id="),
        "admin sort status": getter(admin, f"{peer}&o=2", b"result_list"),
        "sort created": getter(viewer, f"{mine}&sort=created", b"data-image-id="),
        "admin sort created": getter(admin, f"{peer}&o=6", b"result_list"),
    }
    from bench.measure import interleaved, ratio, table

    timings = interleaved(variants)
    crowded = client_for("crowded")
    queries = {
        "1 grant, 10 rows": count_queries(viewer, "/images/?project=cn-north-4&size=10"),
        "1 grant, 50 rows": count_queries(viewer, "/images/?project=cn-north-4&size=50"),
        "200 grants, 10 rows": count_queries(crowded, "/images/?project=cn-north-4&size=10"),
        "200 grants, 50 rows": count_queries(crowded, "/images/?project=cn-north-4&size=50"),
    }
    sort_ratio = max(ratio(timings["sort status"], timings["admin sort status"]),
                     ratio(timings["sort created"], timings["admin sort created"]))
    result = {
        "database": vendor,
        "images": Image.objects.count(),
        "build_seconds": round(built, 1),
        "deep_page": deep_page,
        "search_term": term,
        "ms": {name: round(seconds * 1e3, 2) for name, seconds in timings.items()},
        "list_vs_admin": ratio(timings["list"], timings["admin list"]),
        "deep_vs_admin": ratio(timings["deep"], timings["admin deep"]),
        "search_vs_admin": ratio(timings["search"], timings["admin search"]),
        "search_common_vs_admin": ratio(timings["search common"], timings["admin search common"]),
        "sort_vs_admin": sort_ratio,
        "list_queries": max(queries.values()),
        "list_queries_by_case": queries,
        "list_queries_equal": len(set(queries.values())) == 1,
    }
    pairs = [("page 1", "list", "admin list"), (f"deep page ({deep_page})", "deep", "admin deep"),
             (f"search {term!r}", "search", "admin search"),
             (f"search {COMMON_TERM!r} (common)", "search common", "admin search common"),
             ("sort by status", "sort status", "admin sort status"),
             ("sort by created", "sort created", "admin sort created")]
    table(f"image list vs Django admin changelist, {result['images']:,} images ({vendor}), {size} rows",
          [(label, timings[a], timings[b], ratio(timings[a], timings[b])) for label, a, b in pairs])
    print(f"  queries per list page: {queries}")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--reuse", action="store_true", help="measure the database's images if it has some")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imsperm-bench-") as folder:
        url = options.database_url or f"sqlite:///{folder}/bench.sqlite3"
        result = run(options.images, url, options.reuse)
    Path(options.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
