"""The image list at scale, as a user sees it: Next and Previous walk every tab in the order shown with no
row missed or repeated, a cursor link opened elsewhere shows the same rows, counts stop at a cap, the
name search finds what was written by any path, and a GET writes nothing.
"""

import random
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from accounts import services as account_services
from accounts.models import Grant, Membership, Policy, Project, UserGroup
from images import search_index
from images.models import Image, ImageMember
from images.selectors import SORTS, TABS
from tests.scoped_rows import made_for_the_scope

pytestmark = pytest.mark.usefixtures("demo")

IDS = re.compile(r'data-image-id="([^"]+)"')
NEXT = re.compile(r'href="([^"]+)" rel="next"')
PREVIOUS = re.compile(r'href="([^"]+)" rel="prev"')


@pytest.fixture
def many_images(demo):
    """90 more images in cn-north-4 of every type, status, OS and format, with ties in every sort key,
    some shared with cn-north-4_dev (pending and accepted)."""
    return make_many_images()


@pytest.fixture(scope="class")
def many_images_for_the_class(django_db_setup, django_db_blocker):
    """many_images made once for a class of tests that only read them (tests/scoped_rows.py)."""
    with made_for_the_scope(django_db_blocker, make_many_images):
        yield


def make_many_images():
    rng = random.Random(3)
    north, dev = Project.objects.get(name="cn-north-4"), Project.objects.get(name="cn-north-4_dev")
    images = Image.objects.bulk_create(
        Image(name=f"paged-{rng.choice('abc')}-{i % 7}", project=north, size=rng.choice((1, 2, 3)),
              image_type=rng.choice(("private", "private", "gold", "market")),
              status=rng.choice(("active", "queued", "killed", "deleted")),
              os_type=rng.choice(("Linux", "Windows", "Other")), disk_format=rng.choice(("qcow2", "vhd", "iso")))
        for i in range(90))
    ImageMember.objects.bulk_create(ImageMember(image=image, project=dev, status=rng.choice(("pending", "accepted")))
                                    for image in images[:40] if image.image_type == "private")
    return images


def walk(client, url, direction=NEXT):
    """Every page from `url` following one link; [(ids on the page, html)]."""
    pages = []
    while url:
        html = client.get(url).content.decode()
        pages.append((IDS.findall(html), html))
        found = direction.search(html)
        url = "/images/" + unescape(found.group(1)) if found else None
    return pages


@pytest.mark.parametrize("tab", [key for key, _ in TABS])
@pytest.mark.parametrize("sort", ["name", "-status", "os", "-format", "size", "-created"])
@pytest.mark.usefixtures("many_images_for_the_class")
class TestWalks:
    def test_next_walks_every_row_once_in_the_order_shown(self, as_user, tab, sort):
        project = "cn-north-4_dev" if tab in ("shared", "awaiting") else "cn-north-4"
        client = as_user("viewer")
        pages = walk(client, f"/images/?project={project}&tab={tab}&sort={sort}&size=10")
        walked = [image_id for ids, _ in pages for image_id in ids]
        big_page = IDS.findall(client.get(f"/images/?project={project}&tab={tab}&sort={sort}&size=50").content.decode())
        assert walked[:50] == big_page
        assert len(walked) == len(set(walked))
        images = {str(image.pk): image for image in Image.objects.filter(pk__in=walked)}
        fields = SORTS[sort.lstrip("-")]
        keys = [tuple(getattr(images[i], f) for f in fields) for i in walked]
        assert keys == sorted(keys, reverse=sort.startswith("-"))
        summary = re.search(r'data-testid="page-summary">(\d+)–(\d+) of (\d+)', pages[-1][1])
        assert int(summary.group(2)) == int(summary.group(3)) == len(walked)


def test_previous_comes_back_through_the_same_pages(as_user, many_images):
    client = as_user("viewer")
    forward = walk(client, "/images/?project=cn-north-4&tab=public&sort=-size&size=10")
    assert len(forward) >= 3
    last_html = forward[-1][1]
    backward = walk(client, "/images/" + unescape(PREVIOUS.search(last_html).group(1)), direction=PREVIOUS)
    assert [ids for ids, _ in backward] == [ids for ids, _ in forward[-2::-1]]
    assert "1–10 of" in backward[-1][1] and 'rel="prev"' not in backward[-1][1]


def test_a_cursor_link_shows_the_same_rows_to_someone_else(as_user, many_images):
    first = as_user("viewer")
    html = first.get("/images/?project=cn-north-4&sort=created&size=10").content.decode()
    link = "/images/" + unescape(NEXT.search(html).group(1))
    assert "cursor=" in link
    mine = first.get(link).content.decode()
    theirs = as_user("ims-admin").get(link).content.decode()
    assert IDS.findall(mine) == IDS.findall(theirs) != []
    assert "11–20 of" in theirs and "Page 2 of" in theirs


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4Ijox", "WyJuIiwiMyJd", "WyJ6IiwxLCJhIiwiYiJd"])
def test_a_tampered_cursor_shows_the_first_page(as_user, many_images, cursor):
    client = as_user("viewer")
    response = client.get(f"/images/?project=cn-north-4&size=10&cursor={cursor}")
    assert response.status_code == 200
    first = client.get("/images/?project=cn-north-4&size=10")
    assert IDS.findall(response.content.decode()) == IDS.findall(first.content.decode())


def test_counts_stop_at_the_cap(as_user, many_images, monkeypatch):
    monkeypatch.setattr("accounts.paging.COUNT_CAP", 5)
    monkeypatch.setattr("images.selectors.QUOTA_COUNT_CAP", 5)
    html = as_user("ims-admin").get("/images/?project=cn-north-4&size=10").content.decode()
    assert "1–10 of more than 5" in html
    assert "Quota:</strong> more than 5 of 100" in html
    assert re.search(r"Page 1 ·", html)  # no page total when the count is capped


@pytest.mark.parametrize("text", ["PAGED-B", "aged-c-3", 'x"y', "%", "_"])
def test_name_search_matches_substrings_in_any_case(as_user, many_images, text):
    html = as_user("viewer").get(f"/images/?project=cn-north-4&size=50&q={text}").content.decode()
    expected = {str(image.pk) for image in Image.objects.filter(
        project__name="cn-north-4", image_type="private", name__icontains=text).exclude(status="deleted")}
    assert set(IDS.findall(html)) == expected


def search(client, text):
    return IDS.findall(client.get(f"/images/?project=cn-north-4&tab=public&size=50&q={text}").content.decode())


def test_search_follows_every_write_even_bulk_and_raw(as_user, demo):
    client = as_user("viewer")
    north = Project.objects.get(name="cn-north-4")
    image = Image.objects.create(name="needle-alpha", project=north, image_type="gold", status="active")
    assert search(client, "edle-alp") == [str(image.pk)]
    image.name = "haystack-beta"
    image.save()
    assert search(client, "needle") == [] and search(client, "stack-b") == [str(image.pk)]
    bulk = Image.objects.bulk_create([Image(name="bulk-needle", project=north, image_type="gold", status="active")])
    assert search(client, "k-needl") == [str(bulk[0].pk)]
    Image.objects.filter(pk=bulk[0].pk).update(name="renamed-in-bulk")
    assert search(client, "k-needl") == [] and search(client, "ed-in-bu") == [str(bulk[0].pk)]
    image.delete()
    assert search(client, "stack-b") == []


@pytest.mark.skipif(connection.vendor != "sqlite",
                    reason="only SQLite keeps its search index with triggers; the SQLite pass of CI runs this")
def test_search_triggers_come_back_after_a_table_rebuild(as_user, demo):
    """SQLite alters a table by copying it, which drops its triggers: migrate puts them back."""
    with connection.cursor() as cursor:
        for suffix in ("insert", "update", "delete"):
            cursor.execute(f"DROP TRIGGER {search_index.FTS}_{suffix}")
    search_index.ensure_after_migrate(sender=None, using="default")
    north = Project.objects.get(name="cn-north-4")
    image = Image.objects.create(name="after-rebuild", project=north, image_type="gold", status="active")
    assert search(as_user("viewer"), "er-rebu") == [str(image.pk)]


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="the pg_trgm index exists only on PostgreSQL; the PostgreSQL pass of CI runs this")
def test_postgresql_searches_names_through_the_trigram_index(demo):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [search_index.POSTGRES_INDEX])
        assert "gin_trgm_ops" in cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = off")
        queryset = Image.objects.filter(name__icontains="ubuntu")
        plan = queryset.explain()
    assert search_index.POSTGRES_INDEX in plan


def test_a_get_writes_nothing_not_even_the_session(as_user, many_images):
    client = as_user("admin")
    client.get("/images/?project=cn-north-4")
    for url in ("/images/?project=cn-north-4", "/images/?project=cn-north-4&tab=public&sort=-size",
                "/images/", "/iam/users/"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert response.status_code == 200 and writes == [], url
        assert "sessionid" not in response.cookies


def test_switching_project_is_still_remembered(as_user, demo):
    client = as_user("viewer")
    client.get("/images/?project=eu-west-101")
    assert 'data-testid="current-project">eu-west-101' in client.get("/images/").content.decode()


def crowded_viewer():
    """A user in 10 groups of 20 grants each, one of them read-only everywhere."""
    user, _ = account_services.user_create(actor=None, username="crowded", password="imsperm-demo")
    reader = Policy.objects.get(name="IMS ReadOnlyAccess")
    policies = [reader, *Policy.objects.bulk_create(
        Policy(name=f"crowd-{i}", document={"Version": "1.1", "Statement": [
            {"Effect": "Allow", "Action": ["ims:images:get"]}]}) for i in range(199))]
    for number in range(10):
        group = UserGroup.objects.create(name=f"crowd-{number}")
        Membership.objects.create(user=user, group=group)
        Grant.objects.bulk_create(Grant(group=group, policy=policy, all_resources=True)
                                  for policy in policies[number * 20:(number + 1) * 20])
    return user


def test_list_queries_are_the_same_for_1_and_200_grants_and_within_budget(as_user, many_images, client,
                                                                          django_assert_max_num_queries):
    crowded = crowded_viewer()
    client.force_login(crowded)
    counts = {}
    for label, browser in (("1 grant", as_user("viewer")), ("200 grants", client)):
        for tab, _ in TABS:
            for size in (10, 50):
                project = "cn-north-4_dev" if tab in ("shared", "awaiting") else "cn-north-4"
                url = f"/images/?project={project}&tab={tab}&size={size}&q=paged"
                browser.get(url)
                with CaptureQueriesContext(connection) as queries:
                    assert browser.get(url).status_code == 200
                counts[(label, tab, size)] = len(queries)
    for tab, _ in TABS:  # per tab (the Private tab's unfiltered rows are its quota, counted already)
        assert len({n for (_, counted_tab, _), n in counts.items() if counted_tab == tab}) == 1, counts
    assert max(counts.values()) <= 10, counts
    filtered = "/images/?project=cn-north-4&sort=-created&os_type=Linux&tag=env"
    client.get(filtered)  # back in cn-north-4: the session remembers the switch once
    with django_assert_max_num_queries(10):
        client.get(filtered)


def test_row_links_are_the_routes_urls(as_user, many_images):
    from django.urls import reverse

    html = as_user("ims-admin").get("/images/?project=cn-north-4&size=50").content.decode()
    for image_id in IDS.findall(html):
        assert f'href="{reverse("images:detail", args=[image_id])}"' in html
    active = Image.objects.filter(pk__in=IDS.findall(html), status="active", disk_format="qcow2", kind="system")
    assert any(f'action="{reverse("images:export", args=[image.pk])}"' in html for image in active)


NARROWED = ["status=active", "os_type=Linux&status=queued", "q=paged-a", "tag=env", "q=paged&disk_format=iso"]


@pytest.mark.parametrize("narrowed", NARROWED)
@pytest.mark.parametrize("sort", ["created", "-name", "size"])
@pytest.mark.usefixtures("many_images_for_the_class")
class TestNarrowedPlans:
    def test_a_narrowed_tab_pages_alike_whether_its_matches_are_sorted_or_walked(self, as_user, monkeypatch,
                                                                                 narrowed, sort):
        """SQLite's page is found either by sorting the matches or by walking the sort's index with the
        filters checked row by row (images.list_plan.sorting_is_cheaper picks); both give the same pages."""
        client = as_user("viewer")
        url = f"/images/?project=cn-north-4&tab=public&sort={sort}&size=5&{narrowed}"
        walks, asked = {}, []

        def forced(answer):
            def answered(count, total, size):
                asked.append(answer)
                return answer
            return answered

        for sorted_first in (True, False):
            if walks and not asked:  # the choice was never asked (no match; too many to sort): the walk forced
                walks[sorted_first] = walks[True]  # the other way takes the very same path, so its pages are these
                continue
            monkeypatch.setattr("images.list_plan.sorting_is_cheaper", forced(sorted_first))
            walks[sorted_first] = [ids for ids, _ in walk(client, url)]
        assert walks[True] == walks[False]
        assert sum(map(len, walks[True])) == len({i for ids in walks[True] for i in ids})


@pytest.mark.parametrize(("count", "total", "size", "sorted_first"), [
    (0, 50_000, 10, True),  # nothing matches: a walk would step over the whole tab
    (5, 100_000, 10, True),  # a selective search
    (1_131, 2_002, 10, False),  # a frequent status of one project: the walk finds its page at once
    (10_001, 10_001, 50, False),  # more than the cap: never sort that many
    (300, 1_000_000, 25, True),
])
def test_sorting_is_chosen_only_when_it_costs_less_than_the_walk(count, total, size, sorted_first):
    from images.list_plan import sorting_is_cheaper

    assert sorting_is_cheaper(count, total, size) is sorted_first


def test_a_frequent_status_sorted_by_created_walks_the_created_index(as_user, many_images):
    """SQLite's planner, left alone, fetched every active image of the project and sorted them (a
    temporary B-tree over 1,131 rows at 100k images); written `+status`, the filter lets it walk the
    sort's index. PostgreSQL's page writes the filter plainly: its planner knows how common a status
    is (it keeps the most common values), so the choice is left to it."""
    Image.objects.filter(project__name="cn-north-4", image_type="private").update(status="active")
    client = as_user("viewer")
    url = "/images/?project=cn-north-4&sort=created&status=active&size=10"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    [window] = [q["sql"] for q in queries if q["sql"].startswith('SELECT "images_image"."id"')]
    if connection.vendor != "sqlite":
        assert '+"images_image"' not in window and '"images_image"."status" = ' in window, window
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + window)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "image_project_created" in plan and "TEMP B-TREE" not in plan, plan


def test_only_the_first_page_counts_and_the_cursor_carries_its_count(as_user, many_images):
    client = as_user("viewer")
    first = client.get("/images/?project=cn-north-4&tab=public&size=10").content.decode()
    total = int(re.search(r"1–10 of (\d+)", first).group(1))
    link = "/images/" + unescape(NEXT.search(first).group(1))
    client.get(link)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(link).content.decode()
    assert f"11–20 of {total}" in second
    assert not [q for q in queries if "COUNT(*)" in q["sql"]], "a later page counted again"


def test_a_cursor_whose_count_was_changed_is_not_ours(as_user, many_images):
    """The count and plan a cursor carries are signed: a link edited to claim another count is page 1."""
    import base64
    import json
    from urllib.parse import parse_qs, quote, urlsplit

    client = as_user("viewer")
    first = client.get("/images/?project=cn-north-4&tab=public&size=10").content.decode()
    [cursor] = parse_qs(urlsplit(unescape(NEXT.search(first).group(1))).query)["cursor"]
    token, signature = cursor.rsplit(":", 1)
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    payload[2] = 999_999
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=") + ":" + signature
    html = client.get(f"/images/?project=cn-north-4&tab=public&size=10&cursor={quote(forged)}").content.decode()
    assert IDS.findall(html) == IDS.findall(first) and "999" not in re.search(r"1–10 of [^<]+", html).group(0)


def test_the_last_page_corrects_a_count_that_grew_stale(as_user, many_images):
    client = as_user("viewer")
    first = client.get("/images/?project=cn-north-4&tab=public&size=10").content.decode()
    total = int(re.search(r"1–10 of (\d+)", first).group(1))
    north = Project.objects.get(name="cn-north-4")
    Image.objects.bulk_create(Image(name=f"zz-late-{i}", project=north, image_type="gold") for i in range(7))
    pages = walk(client, "/images/" + unescape(NEXT.search(first).group(1)))
    assert f"of {total}<" in pages[0][1]  # the count the first page found, carried
    last = re.search(r'data-testid="page-summary">(\d+)–(\d+) of (\d+)', pages[-1][1])
    assert int(last.group(2)) == int(last.group(3)) == total + 7


@given(count=st.integers(1, 20_000), size=st.sampled_from([10, 25, 50, 500]))
def test_the_rows_counted_for_the_plan_are_exactly_what_the_choice_needs(count, size):
    """Counting the rows before the filters only up to rows_that_make_sorting_cheaper decides alike."""
    from images.list_plan import rows_that_make_sorting_cheaper, sorting_is_cheaper

    needed = rows_that_make_sorting_cheaper(count, size)
    assert sorting_is_cheaper(count, needed, size)
    assert not sorting_is_cheaper(count, needed - 1, size)


def test_a_selective_search_counts_only_a_few_rows_before_the_filters(as_user, many_images):
    """The public image types' matches are counted together to one cap; the rows before the search, which
    only SQLite's plan choice reads, only as far as that choice needs (PostgreSQL counts none)."""
    client = as_user("viewer")
    url = "/images/?project=cn-north-4&tab=public&size=10&q=paged-a-3"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    limits = [int(limit) for q in queries for limit in re.findall(r"LIMIT (\d+)\) capped_", q["sql"])]
    assert limits and max(limits[1:] or [0]) < 100 and limits[:1] == [10_001], limits


@pytest.mark.parametrize("search", ["", "paged"])
def test_the_public_tabs_two_parts_are_counted_together_under_one_cap(as_user, many_images, monkeypatch, search):
    """The Public tab is two index ranges (public and marketplace images): its count stops at the cap + 1 rows
    in all, one count for both, and says the same as counting each: exact up to the cap, "more than" past it."""
    public = Image.objects.filter(image_type__in=("gold", "market"), name__icontains=search).exclude(status="deleted")
    largest = max(public.filter(image_type=kind).count() for kind in ("gold", "market"))
    url = f"/images/?project=cn-north-4&tab=public&size=10&q={search}"
    client = as_user("viewer")
    for cap, shown in [(public.count(), f"of {public.count()}<"), (largest, f"of more than {largest}<")]:
        monkeypatch.setattr("accounts.paging.COUNT_CAP", cap)
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url).content.decode()
        assert shown in html
        limits = [int(limit) for q in queries for limit in re.findall(r"LIMIT (\d+)\) capped_", q["sql"])]
        assert limits.count(cap + 1) == 1, limits  # one count of both parts, not one each summed


def test_the_quota_line_counts_to_ten_times_the_quota_and_the_list_to_its_own_cap(as_user, many_images,
                                                                                   monkeypatch):
    monkeypatch.setattr("images.selectors.QUOTA_COUNT_CAP", 3)
    html = as_user("ims-admin").get("/images/?project=cn-north-4&size=10").content.decode()
    private = Image.objects.filter(project__name="cn-north-4", image_type="private").exclude(status="deleted")
    assert "Quota:</strong> more than 3 of 100" in html
    assert f"1–10 of {private.count()}<" in html
    html = as_user("ims-admin").get("/images/?project=cn-north-4&size=10&status=active").content.decode()
    assert f"of {private.filter(status='active').count()}<" in html  # the plan's reuse of the quota count: exact


def test_a_dense_filter_walks_without_counting_the_rows_before_it(as_user, many_images, monkeypatch):
    """When even the cap's worth of rows could not make sorting cheaper, nothing more is counted: one
    statement counts (on PostgreSQL, always the rows' own; on SQLite, the counts its plan reads first)."""
    monkeypatch.setattr("accounts.paging.COUNT_CAP", 5)
    client = as_user("viewer")
    url = "/images/?project=cn-north-4&tab=public&size=10&status=active"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    assert "1–10 of more than 5" in html
    assert len([q for q in queries if "COUNT(*)" in q["sql"]]) == 1, [q["sql"] for q in queries]
