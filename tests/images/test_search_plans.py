"""A name search shows the same rows whichever way the database finds them: through the trigram index's
matches (a rare word) or by testing each name while walking the sort's index (a word many images share,
images.list_plan.searches_name_row_by_row), each page sorted or walked (images.list_plan.sorting_is_cheaper).
Every page of every plan is compared, for each sort, with filters, and for terms that LIKE, the FTS5 query
syntax or Unicode case folding could read otherwise."""

import random
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Project
from images.models import Image
from tests.scoped_rows import made_for_the_scope

pytestmark = pytest.mark.usefixtures("demo")

IDS = re.compile(r'data-image-id="([^"]+)"')
NEXT = re.compile(r'href="([^"]+)" rel="next"')
SUMMARY = re.compile(r'data-testid="page-summary">[^<]*of ([^<]+)<')

# Names sharing words in every case, with the characters a LIKE pattern, an FTS5 phrase or a quote reads
# specially, and letters that only Unicode's case folding matches (É/é, the Kelvin sign K folding to k).
STEMS = ["ubuntu-web", "UBUNTU-db", "Ubuntu-ÉTÉ", "ubuntu-été", "centos-50%-off", "centos-50x-off",
         "debian_a_b", "debian-axb", "o'brien-ubuntu", 'say-"hi"-ubuntu', "back\\slash-ubuntu",
         "\u212aelvin-ubuntu", "kelvin-db", "straße-ubuntu", "STRASSE-ubuntu", "日本語-ubuntu", "ubuntu"]
TERMS = ["ubuntu", "UBUNTU", "buntu-w", "%", "_", "50%", "a_b", "'", "o'b", '"hi"', "\\", "k\\s",
         "été", "ÉTÉ", "kelvin", "\u212aelvin", "straße", "日本語", "zz-none", "ub"]
SORTS = ["name", "-name", "status", "-created", "size", "os", "-format"]
FILTERS = ["", "status=active", "os_type=Linux&disk_format=qcow2"]


@pytest.fixture
def named_images(demo):
    """120 images in cn-north-4 named from STEMS (ties in every sort key), of every type, status and OS."""
    return make_named_images()


@pytest.fixture(scope="class")
def named_images_for_the_class(django_db_setup, django_db_blocker):
    """named_images made once for a class of tests that only read them (tests/scoped_rows.py)."""
    with made_for_the_scope(django_db_blocker, make_named_images):
        yield


def make_named_images():
    rng = random.Random(23)
    north = Project.objects.get(name="cn-north-4")
    return Image.objects.bulk_create(
        Image(name=f"{rng.choice(STEMS)}-{i % 9}", project=north, size=rng.choice((1, 2, 3)),
              image_type=rng.choice(("private", "private", "gold", "market")),
              status=rng.choice(("active", "active", "queued", "deleted")),
              os_type=rng.choice(("Linux", "Windows")), disk_format=rng.choice(("qcow2", "vhd")))
        for i in range(120))


def every_page(client, url):
    """The ids of every page from `url` on, following Next, and the count the first page shows."""
    pages, count = [], None
    while url:
        html = client.get(url).content.decode()
        pages.append(IDS.findall(html))
        count = count or (SUMMARY.search(html).group(1) if SUMMARY.search(html) else "0")
        found = NEXT.search(html)
        url = "/images/" + unescape(found.group(1)) if found else None
    return pages, count


PLANS = [(common, sorted_first) for common in (False, True) for sorted_first in (False, True)]


def _forced(consulted, name, answer):
    """A stand-in for one of the plan's choices: answers `answer`, noting in `consulted` that it was asked."""
    def answered(*args, **kwargs):
        consulted[name] = answer
        return answer
    return answered


def every_plan(client, url, monkeypatch):
    """The pages of `url` under each of the four plans, forced: {(whether the word is common, whether the
    matches are sorted): every_page}. The forced answers are the only difference between two plans' runs, so
    a plan whose every answer that a run consulted (on any of its pages) is the same as that run's takes the
    very same code path, page after page: it is given that run's pages rather than walked again. A term the
    trigram index is not asked about (shorter than 3 characters, not ASCII: list_plan.searches_name_row_by_row)
    or a search with no match (list_plan.PlanChoice.sorts) consults one answer or none: 2 or 1 walks, not 4."""
    seen, runs = {}, []
    for common, sorted_first in PLANS:
        answers = {"common": common, "sorted": sorted_first}
        same = next((pages for consulted, pages in runs
                     if all(answers[name] == answer for name, answer in consulted.items())), None)
        if same is not None:
            seen[(common, sorted_first)] = same
            continue
        consulted = {}
        monkeypatch.setattr("images.search_index.is_common", _forced(consulted, "common", common))
        monkeypatch.setattr("images.list_plan.sorting_is_cheaper", _forced(consulted, "sorted", sorted_first))
        seen[(common, sorted_first)] = every_page(client, url)
        runs.append((consulted, seen[(common, sorted_first)]))
    return seen


@pytest.mark.parametrize("term", TERMS)
@pytest.mark.parametrize("tab", ["public", "private"])
@pytest.mark.usefixtures("named_images_for_the_class")
class TestEveryPlan:
    def test_every_plan_shows_the_same_pages(self, as_user, monkeypatch, term, tab):
        client = as_user("viewer")
        rng = random.Random(term + tab)
        for sort in rng.sample(SORTS, 3):
            for narrowed in FILTERS:
                url = f"/images/?project=cn-north-4&tab={tab}&sort={sort}&size=7&{urlencode({'q': term})}&{narrowed}"
                seen = every_plan(client, url, monkeypatch)
                first = seen[(False, True)]
                assert all(shown == first for shown in seen.values()), (sort, narrowed, seen)
                rows = [image_id for ids in first[0] for image_id in ids]
                assert len(rows) == len(set(rows))
                if term.isascii():  # the same rows as the name's ASCII case folded (every seeded name pairs so)
                    names = {str(pk): name for pk, name in Image.objects.filter(pk__in=rows).values_list("pk", "name")}
                    assert all(term.lower() in names[row].lower() for row in rows), names


def test_a_common_word_is_tested_row_by_row_in_the_same_number_of_queries(as_user, named_images,
                                                                          django_assert_max_num_queries):
    """A word most names share is tested on each row walked and counted (LIKE), a rare one read from the
    trigram index's few matches; the page costs the same number of queries either way, within budget."""
    Image.objects.create(name="rare-zq9", project=named_images[0].project, image_type="gold", status="active")
    client = as_user("viewer")
    counts, statements = {}, {}
    for word in ("ubuntu", "zq9"):
        for size in (10, 50):
            url = f"/images/?project=cn-north-4&tab=public&sort=-created&status=active&size={size}&q={word}"
            client.get(url)
            with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(10):
                assert client.get(url).status_code == 200
            counts[(word, size)] = len(queries)
            statements[word] = " ".join(q["sql"] for q in queries if "images_image_name_fts" in q["sql"])
    assert len(set(counts.values())) == 1, counts
    if connection.vendor == "sqlite":  # the plan choice is SQLite's (its FTS5 trigram table); PostgreSQL's
        assert "LIKE '%ubuntu%'" in statements["ubuntu"]  # planner walks the sort's index by itself
        assert "LIKE" not in statements["zq9"]


@pytest.mark.skipif("connection.vendor != 'sqlite'",
                    reason="asserts SQLite's EXPLAIN QUERY PLAN wording (COVERING INDEX image_type_status); "
                           "PostgreSQL's EXPLAIN has no such wording. Its rows are checked on both databases by "
                           "test_every_plan_shows_the_same_pages, its query count by the test above")
def test_a_common_word_of_one_status_by_name_walks_the_status_index_without_reading_rows(as_user, named_images,
                                                                                          monkeypatch):
    """Walking the name sort's index would read each image for its status; one status's images are in name
    order in the status index, which holds the name the search tests: the walk reads no row and sorts none."""
    monkeypatch.setattr("images.list_plan.sorting_is_cheaper", lambda count, total, size: False)
    client = as_user("viewer")
    url = "/images/?project=cn-north-4&tab=public&sort=-name&status=active&size=10&q=ubuntu"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    [window] = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "ORDER BY" in q["sql"]
                and "LIKE '%ubuntu%'" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + window)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "COVERING INDEX image_type_status" in plan and "image_type_name" not in plan, plan
