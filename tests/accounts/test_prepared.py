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
