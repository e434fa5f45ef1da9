"""The users, groups, policies, audit and API-token tables sort by each column, both ways, with the sort
in the URL; a sort nobody declared is the default (never a 500); the second page goes on in the same
order; each page costs the same number of queries for 10 rows as for 50, whatever the sort.

The rows a table grows are made once per table for the tests of one class (`grown` and the fixtures after it:
one transaction around them, rolled back after the class; each test still rolls back its own changes inside
it), not again by each sort's test: every sort of a table reads the same rows it made for itself before."""

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import audit, services
from accounts.models import AuditEvent, Policy, User, UserGroup
from api import services as api_services
from api.models import ApiToken, token_digest
from tests.scoped_rows import made_for_the_scope

pytestmark = pytest.mark.usefixtures("demo")

NEVER = datetime(1970, 1, 1, tzinfo=UTC)
BUDGET = 10


def _users(count, prefix="u"):
    for number in range(count):
        created, _ = services.user_create(
            actor=None, username=f"{prefix}{number:03d}", password="imsperm-demo",
            email=f"{(number * 7) % 50:02d}@example.com", first_name=("Ann", "Bob", "Cy")[number % 3],
            last_name=f"L{(number * 3) % 11}", is_active=number % 4 != 0)
        if number % 5 == 0:
            User.objects.filter(pk=created.pk).update(last_login=timezone.now() - timedelta(hours=number))


def _groups(count, prefix="g"):
    members = list(User.objects.filter(username__in=["viewer", "developer", "newcomer", "north-ops"]))
    for number in range(count):
        group = services.group_create(actor=None, name=f"{prefix}{number:03d}", description=f"d{(number * 7) % 13}")
        for member in members[: number % 3]:
            if member.memberships.count() < 9:
                services.group_add_member(actor=None, group=group, user=member)


def _policies(count, prefix="p"):
    for number in range(count):
        services.policy_create(actor=None, name=f"{prefix}{number:03d}", description=f"d{(number * 7) % 13}",
                               document={"Version": "1.1",
                                         "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})


def _events(count, prefix="e"):
    admin = User.objects.get(username="admin")
    for number in range(count):
        audit.record(actor=admin if number % 2 else None, action=("iam:users:getUser", "ims:images:list")[number % 2],
                     target_repr=f"t{(number * 7) % 13}", project=("", "cn-north-4")[number % 3 == 0],
                     outcome=("allowed", "denied")[number % 5 == 0], message=f"{prefix} {number}")


def _tokens(count, prefix="tok"):
    admin = User.objects.get(username="admin")
    now = timezone.now()
    for number in range(count):  # more than a person may hold active: most are made revoked
        name = f"{prefix}{(number * 7) % 50:03d}"
        if number < 3:
            token, _ = api_services.api_token_create(actor=admin, name=name)
        else:
            token = ApiToken.objects.create(user=admin, name=name, digest=token_digest(f"{prefix}-{number}"),
                                            prefix=f"ims_{(number * 13) % 97:02d}",
                                            revoked_at=now - timedelta(hours=number))
        if number % 3 == 0:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now - timedelta(minutes=number))


def _user_rows():
    return [(u, u.username) for u in User.objects.all()]


def _by(*names, default=None):
    def key(row):
        return tuple(default if getattr(row, name) is None else getattr(row, name) for name in names)
    return key


# table: (url, row marker, grow, rows with their shown identity, {sort key: python sort key})
TABLES = {
    "users": ("/iam/users/", r'data-username="([^"]+)"', _users, 25, _user_rows, {
        "username": _by("username", "id"),
        "name": _by("first_name", "last_name", "id"),
        "email": _by("email", "id"),
        "status": _by("is_active", "username", "id"),
        "signed-in": _by("last_login", "id", default=NEVER),
    }),
    "groups": ("/iam/groups/", r'data-group="([^"]+)"', _groups, 25,
               lambda: [(g, g.name) for g in UserGroup.objects.all()], {
        "name": _by("name", "id"),
        "description": _by("description", "id"),
        "members": lambda g: (g.memberships.count(), g.id),
        "grants": lambda g: (g.grants.count(), g.id),
        "created": _by("created_at", "id"),
    }),
    "policies": ("/iam/policies/", r'data-policy="([^"]+)"', _policies, 25,
                 lambda: [(p, p.name) for p in Policy.objects.all()], {
        "name": _by("name", "id"),
        "kind": _by("kind", "is_system", "name", "id"),
        "description": _by("description", "id"),
        "attached": lambda p: (p.grants.values("group").distinct().count(), p.id),
    }),
    "audit": ("/iam/audit/", r'data-event="(\d+)"', _events, 50,
              lambda: [(e, str(e.pk)) for e in AuditEvent.objects.all()], {
        "when": _by("created_at", "id"),
        "user": _by("actor_name", "id"),
        "action": _by("action", "id"),
        "target": _by("target_repr", "id"),
        "project": _by("project", "id"),
        "outcome": _by("outcome", "id"),
    }),
    "tokens": ("/me/api-tokens/", r'data-token="([^"]+)"', _tokens, 25,
               lambda: [(t, t.name) for t in ApiToken.objects.filter(user__username="admin")], {
        "name": _by("name", "id"),
        "token": _by("prefix", "id"),
        "created": _by("created_at", "id"),
        "used": _by("last_used_at", "id", default=NEVER),
        "status": _by("revoked_at", "id", default=NEVER),
    }),
}

DEFAULTS = {"users": "username", "groups": "name", "policies": "name", "audit": "-when", "tokens": "-created"}
SORTS = [(table, f"{sign}{key}") for table, spec in TABLES.items() for key in spec[5] for sign in ("", "-")]
# Each sort's case as the class-scoped parameters of the classes below: the table for the fixture that grows it,
# with the case whole beside it (a sort's name alone, "name", is shared by tables: pytest would regroup the tests
# by it and grow each table again between them).
CASES = {"argvalues": [(table, (table, sort)) for table, sort in SORTS], "ids": [f"{t}-{s}" for t, s in SORTS],
         "scope": "class"}


MODELS = {"users": User, "groups": UserGroup, "policies": Policy, "audit": AuditEvent, "tokens": ApiToken}


def _grown(request, django_db_blocker, rows):
    table = request.param
    with made_for_the_scope(django_db_blocker, lambda: TABLES[table][2](rows)):
        yield table


@pytest.fixture(scope="class")
def grown_40(request, django_db_setup, django_db_blocker):
    """The table (parametrized, indirect) with 40 rows of its own made, once for the class's tests of it."""
    yield from _grown(request, django_db_blocker, 40)


@pytest.fixture(scope="class")
def grown_5(request, django_db_setup, django_db_blocker):
    """The table (parametrized, indirect) with 5 rows of its own made, once for the class's tests of it."""
    yield from _grown(request, django_db_blocker, 5)


@pytest.fixture(scope="class")
def grown_10_then_40(request, django_db_setup, django_db_blocker):
    """The table (parametrized, indirect) with 10 rows made, then 40 more ("x"), once for the class's tests of
    it: a function that takes the 40 away again. A test sees the 10 alone by taking them away in a
    savepoint it rolls back. An event repeating an earlier one is counted on it (audit.record): its count is
    put back as it was."""
    table = request.param
    model = MODELS[table]

    def grow():
        TABLES[table][2](10)
        before = set(model.objects.values_list("pk", flat=True))
        repeats = dict(AuditEvent.objects.values_list("pk", "repeat_count"))
        TABLES[table][2](40, "x")
        more = set(model.objects.values_list("pk", flat=True)) - before
        repeated = {pk: count for pk, count in AuditEvent.objects.filter(pk__in=repeats).values_list(
            "pk", "repeat_count") if count != repeats[pk]}
        assert len(more) + (sum(repeated.values()) - sum(repeats[pk] for pk in repeated)
                            if table == "audit" else 0) == 40

        def take_away():
            model.objects.filter(pk__in=more).delete()
            for pk in repeated:
                AuditEvent.objects.filter(pk=pk).update(repeat_count=repeats[pk])

        return take_away

    with made_for_the_scope(django_db_blocker, grow) as take_away:
        yield take_away


def listed(response, marker):
    return re.findall(marker, response.content.decode())


def expected(table, sort):
    _, _, _, _, rows, keys = TABLES[table]
    ordered = sorted(rows(), key=lambda pair: keys[sort.lstrip("-")](pair[0]), reverse=sort.startswith("-"))
    return [shown for _, shown in ordered]


def header(response, key):
    found = re.search(rf'<th scope="col"( aria-sort="(\w+)")?><a href="([^"]+)" data-sort="{re.escape(key)}"',
                      response.content.decode())
    assert found, f"no sort link for {key}"
    return found.group(2) or "", html.unescape(found.group(3))


@pytest.mark.parametrize(("grown_40", "case"), indirect=["grown_40"], **CASES)
class TestEachColumn:
    def test_each_column_sorts_both_ways_and_the_next_page_goes_on(self, grown_40, case, as_user):
        table, sort = case
        url, marker, _, size, _, _ = TABLES[table]
        browser = as_user("admin")
        first = browser.get(f"{url}?sort={sort}")
        assert first.status_code == 200
        everything = expected(table, sort)
        assert listed(first, marker) == everything[:size]
        aria, toggle = header(first, sort.lstrip("-"))
        assert aria == ("descending" if sort.startswith("-") else "ascending")
        wanted = sort[1:] if sort.startswith("-") else f"-{sort}"
        assert parse_qs(urlsplit(toggle).query).get("sort", [DEFAULTS[table]]) == [wanted]
        next_link = re.search(r'href="([^"]+)" rel="next"', first.content.decode())
        if len(everything) > size:
            second = browser.get(url + html.unescape(next_link.group(1)))
            assert listed(second, marker) == everything[size:2 * size]


@pytest.mark.parametrize("bad", ["bogus", "-", "id", "password", "-groups", "name;drop", "%E2%96%B2", "name" * 300])
@pytest.mark.parametrize("grown_5", TABLES, indirect=True)
class TestUndeclaredSorts:
    def test_a_sort_nobody_declared_is_the_default(self, grown_5, bad, as_user):
        url, marker, _, _, _, _ = TABLES[grown_5]
        browser = as_user("admin")
        assert listed(browser.get(f"{url}?sort={bad}"), marker) == listed(browser.get(url), marker)


def test_header_links_keep_the_filters_and_start_at_the_first_page(as_user):
    _users(40)
    browser = as_user("admin")
    first = browser.get("/iam/users/?q=u0&sort=-email&group=&active=")
    cursor = html.unescape(re.search(r'href="\?([^"]*cursor=[^"]+)" rel="next"', first.content.decode()).group(1))
    page = browser.get("/iam/users/?" + cursor)
    _, email = header(page, "email")
    _, username = header(page, "username")
    assert email == "/iam/users/?q=u0&sort=email"  # ascending now; filters kept; no cursor, no empty values
    assert username == "/iam/users/?q=u0"  # the default sort needs no parameter


def test_name_filters_narrow_each_table(as_user):
    _tokens(10)
    _users(10)
    browser = as_user("admin")
    assert listed(browser.get("/me/api-tokens/?q=tok00&sort=name"), TABLES["tokens"][1]) == [
        "tok000", "tok006", "tok007"]
    assert listed(browser.get("/iam/users/?q=u00&sort=-username"), TABLES["users"][1])[:3] == [
        "u009", "u008", "u007"]
    assert listed(browser.get("/iam/policies/?q=ReadOnly&sort=-name"), TABLES["policies"][1]) == sorted(
        Policy.objects.filter(name__icontains="readonly").values_list("name", flat=True), reverse=True)


def _queries(browser, url):
    browser.get(url)  # warm the per-process caches like a running console
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(("grown_10_then_40", "case"), indirect=["grown_10_then_40"], **CASES)
class TestQueryCounts:
    def test_a_page_costs_the_same_queries_for_10_and_50_rows_whatever_the_sort(
            self, grown_10_then_40, case, as_user):
        (table, sort), take_away = case, grown_10_then_40
        url = TABLES[table][0]
        browser = as_user("admin")
        with transaction.atomic():  # the 10 rows alone: the 40 made after them are deleted, then put back
            take_away()
            few = _queries(browser, f"{url}?sort={sort}")
            transaction.set_rollback(True)
        many = _queries(browser, f"{url}?sort={sort}")
        assert few == many
        # The budget, on the warm page just counted (what django_assert_max_num_queries(BUDGET) counted on one
        # more request of the same page, as warm: the same queries).
        assert many <= BUDGET, f"{many} queries for {url}?sort={sort}, more than {BUDGET}"
