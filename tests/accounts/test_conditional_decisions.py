"""The service's conditional decisions: images of every OS, platform, type and tag, requests of every
address, MFA state and time, decided by tables shared across requests, exactly as the plain evaluator.

Each request builds its own keys once per service and project and each image's keys once, merges
them once per image, and finds them again by the objects asked about; the tables' memos (by key
values, by conditions held) live across requests. None of that may change an answer.
"""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.authz import Authorization, CompiledGrants, GrantRule, image_context
from accounts.policy import compile_document
from accounts.prepared import prefetched_rows
from tests.accounts.test_decision_table import PROJECT_NAMES, plain_decide, project_object
from tests.policy.test_decision_table_conditions import ACTIONS, documents
from tests.properties import examples, one_of

TIMES = [datetime(2024, 12, 31, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC),
         datetime(2025, 6, 1, 0, 0, 1, tzinfo=UTC)]
REQUEST_KEYS = [
    {},
    {"g:SourceIp": "10.1.2.3", "g:MFAPresent": True, "g:MFAAge": 30},
    {"g:SourceIp": "192.168.1.1", "g:MFAPresent": False},
    {"g:SourceIp": "not-an-address", "G:MFAPRESENT": "true", "g:MFAAge": 60.0},
    {"g:SourceIp": "2001:db8::1", "ims:OsType": "Windows"},  # a request key an image key overrides
]


# Read by some users' grants only: a page looks an image's place up by its region only when a statement
# reads it (else every project of one name is one place, whatever its region).
REGION_DOCUMENT = {"Version": "1.1", "Statement": [
    {"Effect": "Deny", "Action": ["ims:images:delete"], "Condition": {"StringEquals": {"g:RequestedRegion": ["ap-1"]}}},
    {"Effect": "Allow", "Action": ["ims:images:*"],
     "Condition": {"StringNotEquals": {"g:RequestedRegion": ["cn-north-4"]},
                   "StringEquals": {"ims:OsType": ["Linux"]}}},
]}


def elsewhere(name):
    """A project object whose region is not the one its name starts with (read from the object)."""
    return SimpleNamespace(name=name, region=SimpleNamespace(code="ap-1"))


@st.composite
def grants(draw):
    texts = draw(st.lists(documents, min_size=1, max_size=4))
    if draw(st.booleans()):
        texts.append(REGION_DOCUMENT)
    compiled = [compile_document(document) for document in texts]
    rules = []
    for grant_id in range(draw(st.integers(1, 8))):
        which = draw(st.integers(0, len(texts) - 1))
        rules.append(GrantRule(
            grant_id=grant_id, group_name=f"group-{grant_id % 3}", policy_id=which, policy_name=f"policy-{which}",
            policy_kind="custom", all_resources=draw(st.booleans()),
            project_names=frozenset(draw(st.lists(one_of(PROJECT_NAMES), max_size=2))),
            document=texts[which], compiled=compiled[which],
        ))
    return CompiledGrants(user_id=7, username="alice", is_active=True, is_admin=False, rules=rules, stamp="test")


@st.composite
def images(draw, pk):
    tags = [SimpleNamespace(key=key, value=value) for key, value in draw(st.dictionaries(
        one_of(["env", "Env", "team"]), one_of(["prod", "dev", "PROD", "a", ""]), max_size=3,
    )).items()]
    image = SimpleNamespace(
        pk=pk,
        project=project_object(draw(one_of(PROJECT_NAMES))),
        image_type=draw(one_of(["private", "gold", "shared"])),
        os_type=draw(one_of(["Linux", "Windows", "Other"])),
        platform=draw(one_of(["Ubuntu", "CentOS", "Windows", "Other"])),
        architecture=draw(one_of(["x86", "arm"])),
        tags=SimpleNamespace(all=lambda: list(tags)),
    )
    if draw(st.booleans()):  # a page's rows: tags already in memory, as after prefetch_related
        image._prefetched_objects_cache = {"tags": SimpleNamespace(_result_cache=list(tags))}
    if draw(st.booleans()):  # its project and the project's region loaded with it, as after select_related
        image._state = SimpleNamespace(fields_cache={"project": image.project})
        image.project._state = SimpleNamespace(fields_cache={"region": image.project.region})
    return image


image_pools = st.integers(1, 5).flatmap(lambda size: st.tuples(*(images(pk) for pk in range(1, size + 1))))
requests = st.tuples(one_of([*ACTIONS, "ims:images:list", "ims:images:share"]),
                     st.one_of(st.none(), one_of(PROJECT_NAMES),
                               one_of(PROJECT_NAMES).map(project_object),
                               one_of(PROJECT_NAMES).map(elsewhere)), st.integers(0, 4))


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grants(), image_pools, st.lists(requests, min_size=1, max_size=10),
       st.lists(st.tuples(one_of(TIMES), one_of(REQUEST_KEYS)), min_size=1, max_size=4))
def test_pages_of_images_are_decided_as_the_plain_evaluator_request_after_request(grants_, pool, asked, visits):
    # Several requests, each at its own time with its own keys, ask about the same images with the
    # same compiled grants: whatever one request's memos or the shared tables kept, the next agrees.
    for now, request_keys in visits:
        authorization = Authorization(grants_, now=now, request_context=request_keys)
        for _ in range(2):
            for action, project, pick in asked:
                image = pool[pick % len(pool)]
                expected = plain_decide(grants_, action, project, image, None, request_keys=request_keys, now=now)
                explanation = authorization.decide(action, project, image)
                assert explanation == expected
                assert explanation.reasons == expected.reasons


def test_a_request_asks_the_same_image_through_two_project_objects_and_by_name():
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:*"],
         "Condition": {"StringEquals": {"g:RequestedRegion": ["cn-north-4"], "ims:OsType": ["Linux"]}}},
        {"Effect": "Deny", "Action": ["ims:images:delete"],
         "Condition": {"StringEquals": {"ims:ImageType": ["shared"]}}},
    ]}
    rule = GrantRule(1, "group", 1, "policy", "custom", True, frozenset(), document, compile_document(document))
    grants_ = CompiledGrants(user_id=7, username="alice", is_active=True, is_admin=False, rules=[rule], stamp="t")
    image = SimpleNamespace(pk=1, project=project_object("cn-north-4"), image_type="private", os_type="Linux",
                            platform="Ubuntu", architecture="x86", tags=SimpleNamespace(all=list))
    authorization = Authorization(grants_, now=TIMES[0])
    for project in ["cn-north-4", project_object("cn-north-4"), project_object("eu-west-101"), "eu-west-101", None]:
        for action in ACTIONS:
            assert authorization.decide(action, project, image) == plain_decide(
                grants_, action, project, image, None, request_keys={}, now=TIMES[0]), (action, project)
    assert authorization.decide("ims:images:delete", "eu-west-101", image).outcome == "explicit_deny"


# A page's rows hold their tags: the image's keys are read from them, never from a queryset per row.

@pytest.mark.django_db
def test_an_images_keys_are_the_same_read_from_a_page_prefetched_or_from_the_database(demo):
    from accounts.models import Project
    from images.models import Image, ImageTag
    from images.selectors import attach_relations, with_relations

    chosen = list(Image.objects.order_by("name")[:4])
    for n, image in enumerate(chosen):
        ImageTag.objects.get_or_create(image=image, key=f"k{n % 2}", defaults={"value": f"v{n}"})
        ImageTag.objects.get_or_create(image=image, key="Env", defaults={"value": "prod"})
    ids = [image.pk for image in chosen]
    plain = {image.pk: image for image in Image.objects.filter(pk__in=ids).select_related("project")}
    prefetched = {image.pk: image for image in with_relations(Image.objects.filter(pk__in=ids))}
    attached = list(Image.objects.filter(pk__in=ids))
    attach_relations(attached, list(Project.objects.select_related("region")))
    for image in attached:
        expected = image_context(plain[image.pk], "cn-north-4")
        assert any(key.startswith("ims:ResourceTag/") for key in expected)
        assert image_context(prefetched[image.pk], "cn-north-4") == expected
        assert image_context(image, "cn-north-4") == expected
        assert [tag.pk for tag in prefetched_rows(image, "tags")] == [tag.pk for tag in plain[image.pk].tags.all()]
        assert [tag.pk for tag in prefetched_rows(prefetched[image.pk], "tags")] == [
            tag.pk for tag in plain[image.pk].tags.all()]
        assert prefetched_rows(plain[image.pk], "tags") is None


def test_times_a_day_apart_are_each_decided_by_the_same_table():
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get"],
         "Condition": {"DateLessThan": {"g:CurrentTime": "2025-06-01T00:00:00Z"}}},
    ]}
    rule = GrantRule(1, "group", 1, "policy", "custom", True, frozenset(), document, compile_document(document))
    grants_ = CompiledGrants(user_id=7, username="alice", is_active=True, is_admin=False, rules=[rule], stamp="t")
    image = SimpleNamespace(pk=1, project=project_object("cn-north-4"), image_type="private", os_type="Linux",
                            platform="Ubuntu", architecture="x86", tags=SimpleNamespace(all=list))
    edge = datetime(2025, 6, 1, tzinfo=UTC)
    for now, allowed in [(edge - timedelta(days=1), True), (edge, False), (edge - timedelta(seconds=1), True),
                         (edge + timedelta(days=1), False)]:
        assert Authorization(grants_, now=now).decide("ims:images:get", "cn-north-4", image).allowed is allowed


class Unread:
    """An image whose keys must not be read: each one fails the test when it is."""

    def __init__(self, project):
        self.project = project

    def __getattr__(self, name):
        raise AssertionError(f"the image's {name} was read")


def test_an_image_is_decided_without_reading_its_keys_when_no_condition_of_the_request_reads_one():
    # Conditions on the request alone (MFA, address): every image of the page has the request's answer,
    # found without reading an image's type, OS, platform, architecture or tags.
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get", "ims:images:delete"],
         "Condition": {"Bool": {"g:MFAPresent": [True]}}},
        {"Effect": "Deny", "Action": ["ims:images:delete"], "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}},
    ]}
    rule = GrantRule(1, "group", 1, "policy", "custom", True, frozenset(), document, compile_document(document))
    grants_ = CompiledGrants(user_id=7, username="alice", is_active=True, is_admin=False, rules=[rule], stamp="t")
    project = project_object("cn-north-4")
    readable = SimpleNamespace(pk=1, project=project, image_type="private", os_type="Linux", platform="Ubuntu",
                               architecture="x86", tags=SimpleNamespace(all=list))
    for request_keys in REQUEST_KEYS[:3]:
        authorization = Authorization(grants_, now=TIMES[0], request_context=request_keys)
        for image in [Unread(project), Unread(project)]:
            for action in ("ims:images:get", "ims:images:delete"):
                assert authorization.decide(action, project, image) == plain_decide(
                    grants_, action, project, readable, None, request_keys=request_keys, now=TIMES[0])
