"""bench_data fills a database with the variety the benchmarks need, within the SPEC's limits."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import (
    MAX_CUSTOM_POLICIES,
    MAX_GRANTS_PER_GROUP,
    MAX_GROUPS_PER_USER,
    MAX_SUBPROJECTS_PER_REGION,
    Grant,
    Membership,
    Policy,
    Project,
    Region,
    User,
)
from accounts.policy import validate_document
from images.models import Image, ImageMember, ImageTag

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def filled(demo):
    call_command("bench_data", images=3000, users=60, groups=30, policies=250, stdout=io.StringIO())


def test_the_data_has_every_kind_of_image_and_share(filled):
    images = Image.objects.filter(project__name__regex=r"_(test|stage|web|data|ml|ops|sec|lab)$")  # bench only
    for field in ("image_type", "status", "os_type", "disk_format", "architecture", "kind"):
        values = set(images.values_list(field, flat=True))
        assert values == {value for value, _ in Image._meta.get_field(field).choices}, field
    assert Project.objects.count() >= 50 and Region.objects.count() >= 5
    tags = ImageTag.objects.values("image").annotate(n=Count("id")).values_list("n", flat=True)
    assert set(tags) <= set(range(1, 6)) and max(tags) == 5
    assert set(ImageMember.objects.values_list("status", flat=True)) == {"pending", "accepted", "rejected"}


def test_the_limits_hold_and_the_crowded_user_has_ten_groups_of_twenty(filled):
    for region in Region.objects.all():
        assert region.projects.exclude(name=region.code).count() <= MAX_SUBPROJECTS_PER_REGION
    custom = Policy.objects.filter(is_system=False)
    assert custom.count() <= MAX_CUSTOM_POLICIES
    assert all(validate_document(policy.document).ok for policy in custom)
    assert any("Condition" in s for policy in custom for s in policy.document["Statement"])
    per_user = Membership.objects.values("user").annotate(n=Count("id")).values_list("n", flat=True)
    assert max(per_user) <= MAX_GROUPS_PER_USER and min(per_user) >= 1
    per_group = Grant.objects.values("group").annotate(n=Count("id")).values_list("n", flat=True)
    assert max(per_group) <= MAX_GRANTS_PER_GROUP
    crowded = User.objects.get(username="crowded")
    counts = Grant.objects.filter(group__memberships__user=crowded).values("group").annotate(n=Count("id"))
    assert sorted(row["n"] for row in counts) == [20] * 10
    grants = Grant.objects.filter(group__memberships__user=crowded)
    assert grants.filter(all_resources=True).exists() and grants.filter(all_resources=False).exists()


def test_bulk_inserted_images_are_found_by_name(filled, as_user):
    image = Image.objects.filter(image_type="gold").exclude(status="deleted").order_by("name").last()
    html = as_user("viewer").get(f"/images/?project=cn-north-4&tab=public&q={image.name[-6:]}").content.decode()
    assert f'data-image-id="{image.pk}"' in html
