"""What the public ORM would cost (issue 22): the app's prepared reads (accounts/prepared.py: SQL
compiled once, relation caches set where prefetch_related would) against the public ORM, in one run.

1. The authorization stamp, read at the start of every request: the prepared statement vs.
   `QuerySet.values_list().first()`.
2. A page's relations (tags, members, projects) for 50 rows: images.selectors.attach_relations vs.
   `prefetch_related_objects` with `Prefetch` querysets.
3. The whole image list page (50 rows, the viewer) with each of the two ways of (2).

Each figure is prepared ÷ public (below 1: the app's way is faster; docs/decisions.md, "Prepared
reads", says why the app keeps it). Runs on a throw-away in-memory SQLite database:
python bench/orm_public.py [--out FILE].
"""

import argparse
import json
from pathlib import Path

from measure import interleaved, ratio, setup_in_memory_django, table

setup_in_memory_django()

from django.core.management import call_command  # noqa: E402
from django.db.models import Prefetch, prefetch_related_objects  # noqa: E402
from django.test import Client  # noqa: E402

from accounts import authz  # noqa: E402
from accounts.models import AuthorizationStamp, Project, User  # noqa: E402
from images import selectors  # noqa: E402
from images.models import Image, ImageMember, ImageTag  # noqa: E402

ROWS = 50


def public_stamp() -> str:
    return AuthorizationStamp.objects.filter(pk=1).values_list("value", flat=True).first() or ""


def public_attach(images, projects) -> None:
    """attach_relations with the public ORM only: prefetch querysets and the foreign keys' descriptors."""
    by_id = {project.pk: project for project in projects}
    prefetch_related_objects(images, Prefetch("tags", queryset=ImageTag.objects.order_by("key")),
                             Prefetch("members", queryset=ImageMember.objects.order_by("project__name", "id")))
    for image in images:
        image.project = by_id[image.project_id]
        for member in image.members.all():
            member.project = by_id[member.project_id]


def world():
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    project = Project.objects.get(name="cn-north-4")
    others = list(Project.objects.exclude(pk=project.pk)[:3])
    images = Image.objects.bulk_create([Image(name=f"bench-{n:03d}", project=project, status="active")
                                        for n in range(ROWS)])
    ImageTag.objects.bulk_create([ImageTag(image=image, key=key, value=str(n))
                                  for n, image in enumerate(images) for key in ("env", "team")])
    ImageMember.objects.bulk_create([ImageMember(image=image, project=others[n % len(others)])
                                     for n, image in enumerate(images)])
    return project


def main():
    parser = argparse.ArgumentParser(description="the app's prepared reads against the public ORM")
    parser.add_argument("--out", default="")
    options = parser.parse_args()
    project = world()
    projects = selectors.all_projects()

    def page_rows():
        return list(Image.objects.filter(project=project, name__startswith="bench-").order_by("name")[:ROWS])

    stamp = interleaved({"prepared": authz.current_stamp, "public": public_stamp}, requests=201)
    attach = interleaved({"prepared": lambda: selectors.attach_relations(page_rows(), projects),
                          "public": lambda: public_attach(page_rows(), projects)})
    client = Client()
    client.force_login(User.objects.get(username="viewer"))
    url = f"/images/?project={project.name}&tab=private&size={ROWS}"
    prepared_attach = selectors.attach_relations

    def page_with(attach_function):
        def request():
            selectors.attach_relations = attach_function
            try:
                assert client.get(url).status_code == 200
            finally:
                selectors.attach_relations = prepared_attach
        return request

    page = interleaved({"prepared": page_with(prepared_attach), "public": page_with(public_attach)})
    rows = [(label, figures["prepared"], figures["public"], ratio(figures["prepared"], figures["public"]))
            for label, figures in (("the stamp read, every request", stamp),
                                   (f"a page's relations, {ROWS} rows", attach),
                                   (f"the image list page, {ROWS} rows", page))]
    table("The app's prepared reads ÷ the public ORM (peer)", rows)
    figures = {"stamp_vs_public_orm": rows[0][3], "relations_vs_public_orm": rows[1][3],
               "list_page_vs_public_orm": rows[2][3]}
    if options.out:
        Path(options.out).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
