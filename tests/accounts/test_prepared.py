"""accounts.prepared.RowsByKey: the same rows as the ORM's query, from SQL compiled once per length."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Project
from accounts.prepared import RowsByKey
from images.models import Image, ImageMember, ImageTag

pytestmark = pytest.mark.usefixtures("demo")


def fields(rows):
    return [{field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields} for row in rows]


def test_rows_are_the_orms_rows_with_every_value_converted():
    images = list(Image.objects.order_by("name")[:6])
    north = Project.objects.get(name="cn-north-4")
    for image in images:
        ImageMember.objects.get_or_create(image=image, project=north)
        ImageTag.objects.get_or_create(image=image, key="k", defaults={"value": image.name})
    ids = [image.pk for image in images]
    for model, order in ((ImageTag, ("image_id", "key")), (ImageMember, ("image_id", "id"))):
        rows_by_key = RowsByKey(model, "image_id", order)
        expected = list(model._base_manager.filter(image_id__in=ids).order_by(*order))
        for _ in range(2):  # compiled, then from the cache
            rows = rows_by_key.rows(ids)
            assert fields(rows) == fields(expected) and expected
            assert all(not row._state.adding and row._state.db == "default" for row in rows)
    assert RowsByKey(ImageTag, "image_id").rows([]) == []


def test_the_sql_is_compiled_once_per_length_and_runs_as_one_query():
    rows_by_key = RowsByKey(ImageTag, "image_id", ("image_id", "key"))
    ids = list(Image.objects.values_list("pk", flat=True)[:4])
    rows_by_key.rows(ids[:2])
    rows_by_key.rows(ids[2:])
    rows_by_key.rows(ids)
    assert sorted(length for _, length in rows_by_key._compiled) == [2, 4]
    with CaptureQueriesContext(connection) as queries:
        rows_by_key.rows(ids[1:3])
    assert len(queries) == 1


def test_attached_relations_are_what_the_public_orm_prefetches_and_cost_no_query():
    """images.selectors.attach_relations (prepared reads, relation caches set by accounts.prepared) gives
    what with_relations (prefetch_related, the public ORM) gives: a Django release that changes the
    private attributes it sets fails here."""
    from images.selectors import attach_relations, with_relations

    images = list(Image.objects.order_by("name")[:8])
    others = list(Project.objects.order_by("name")[:3])
    for n, image in enumerate(images):
        ImageTag.objects.get_or_create(image=image, key=f"k{n % 3}", defaults={"value": str(n)})
        for project in others[: n % 3 + 1]:
            ImageMember.objects.get_or_create(image=image, project=project)
    expected = {image.pk: image for image in with_relations(Image.objects.filter(pk__in=[i.pk for i in images]))}
    attach_relations(images, list(Project.objects.select_related("region")))
    with CaptureQueriesContext(connection) as queries:
        seen = [(image.project.name, image.project.region.code, fields(image.tags.all()),
                 [(member.project.name, fields([member])) for member in image.members.all()]) for image in images]
    assert len(queries) == 0
    assert seen == [(e.project.name, e.project.region.code, fields(e.tags.all()),
                     [(member.project.name, fields([member])) for member in e.members.all()])
                    for e in (expected[image.pk] for image in images)]
