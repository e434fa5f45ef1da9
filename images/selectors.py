"""Reads of the image browser: which project the user works in, which images it sees, one page of them.

Every queryset here loads an image with its project, region, tags and members in a fixed
number of queries, so deciding each row's controls afterwards costs no query at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import BinaryField, BooleanField, Case, Exists, F, Func, OuterRef, Prefetch, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Length
from django.db.models.lookups import Exact, IContains, In
from django.http import Http404
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy

from accounts import authz, prepared
from accounts.models import Project
from accounts.paging import CURSOR_PARAM, KeysetPage, keyset_page
from accounts.prepared import RowsByKey
from accounts.selectors import SESSION_PROJECT_KEY, all_projects

from .list_plan import PlanChoice, searches_name_row_by_row
from .models import Image, ImageMember, ImageTag
from .operations import PRIVATE_IMAGE_QUOTA
from .search_index import SQLITE_MATCH, sqlite_phrase

PAGE_SIZES = (10, 25, 50)
DEFAULT_PAGE_SIZE = 25
TABS = (
    ("private", gettext_lazy("Private images")),
    ("public", gettext_lazy("Public images")),
    ("shared", gettext_lazy("Shared with me")),
    ("awaiting", gettext_lazy("Awaiting acceptance")),
)
# Sort keys offered by the column headers → ORDER BY fields (id breaks ties, so paging is stable).
SORTS = {
    "name": ("name", "id"),
    "status": ("status", "name", "id"),
    "os": ("os_type", "platform", "name", "id"),
    "format": ("disk_format", "name", "id"),
    "size": ("size", "name", "id"),
    "created": ("created_at", "id"),
}
# Public (gold) and marketplace images are offered to every project, in the Public tab.
PUBLIC_TYPES = (Image.ImageType.GOLD, Image.ImageType.MARKET)
FILTER_FIELDS = ("os_type", "platform", "architecture", "status", "disk_format")


def with_relations(queryset):
    """Images with everything a row or a details page reads (project, region, tags, members)."""
    return queryset.select_related("project__region").prefetch_related(
        "tags", Prefetch("members", queryset=ImageMember.objects.select_related("project"))
    )


# The two queries of attach_relations, compiled once per page length (accounts.prepared).
_TAGS_OF_IMAGES = RowsByKey(ImageTag, "image_id", ("image_id", "key"))
_MEMBERS_OF_IMAGES = RowsByKey(ImageMember, "image_id")


def attach_relations(images: list[Image], projects: list[Project]) -> None:
    """What `with_relations` loads (project, region, tags, members), for a page of rows already fetched:
    two prepared queries (accounts.prepared), and the projects taken from the process's project list
    (`all_projects`) instead of joined and built again for every row. `image.tags.all()` and
    `image.members.all()` then answer from memory, as after prefetch_related, whose per-row querysets
    cost more than the rows (bench/orm_public.py)."""
    by_id = {project.pk: project for project in projects}
    ids = [image.pk for image in images]
    tags: dict = {pk: [] for pk in ids}
    for tag in _TAGS_OF_IMAGES.rows(ids):
        tags[tag.image_id].append(tag)
    members: dict = {pk: [] for pk in ids}
    loaded = _MEMBERS_OF_IMAGES.rows(ids)
    missing = {row.project_id for row in [*images, *loaded]} - by_id.keys()
    if missing:  # created since this request read its stamp
        by_id.update(Project.objects.select_related("region").in_bulk(missing))
    for member in loaded:
        prepared.cached_relation(member, "project", by_id[member.project_id])
        members[member.image_id].append(member)
    for image in images:
        prepared.cached_relation(image, "project", by_id[image.project_id])
        prepared.prefetched(image, "tags", tags[image.pk])
        prepared.prefetched(image, "members", sorted(members[image.pk], key=lambda member: member.project.name))


def current_project(request, authorization) -> Project:
    """The project the user works in: `?project=` (remembered in the session), else the remembered one,
    else the first project the user may list images in. An unknown project name is a 404."""
    projects = all_projects(request)
    by_name = {project.name: project for project in projects}
    requested = request.GET.get("project")
    if requested is not None:
        if requested not in by_name:
            raise Http404("No such project.")
        remember_project(request, requested)
        return by_name[requested]
    remembered = by_name.get(request.session.get(SESSION_PROJECT_KEY, ""))
    if remembered is not None:
        return remembered
    listable = [p for p in projects if authorization.allows("ims:images:list", p)]
    return (listable or projects)[0]


def remember_project(request, name: str) -> None:
    """Keep the current project in the session, writing only when it changes (a GET stays a read)."""
    if request.session.get(SESSION_PROJECT_KEY) != name:
        request.session[SESSION_PROJECT_KEY] = name


@dataclass(frozen=True)
class ProjectChoice:
    project: Project
    enabled: bool
    current: bool


def project_switcher(request, authorization, current: Project) -> list[tuple[str, list[ProjectChoice]]]:
    """Projects grouped by region; those where the user holds no permission at all are disabled."""
    reachable = authorization.project_names_with_any_permission
    groups: dict[str, list[ProjectChoice]] = {}
    for project in all_projects(request):
        enabled = reachable is None or project.name in reachable
        groups.setdefault(str(project.region), []).append(ProjectChoice(project, enabled, project.pk == current.pk))
    return list(groups.items())


def visible_from(image: Image, project: Project, *, rejected_too: bool = False) -> bool:
    """Whether `project` sees the image: its own, any public or marketplace one, or one shared with it
    (pending or accepted; a share it rejected too with `rejected_too`, for accepting it again)."""
    if image.project_id == project.pk or image.image_type in PUBLIC_TYPES:
        return True
    return any(
        member.project_id == project.pk and (rejected_too or member.status != ImageMember.Status.REJECTED)
        for member in image.members.all()
    )


def image_for_request(request, authorization, pk, *, rejected_too: bool = False) -> tuple[Image, Project]:
    """The image and the project it is seen from, or 404 when none of the user's projects sees it.

    The current project is preferred; otherwise the owner or a member project the user holds
    permissions in (a shared link opens from wherever the user can see it).
    """
    image = with_relations(Image.objects.filter(pk=pk)).first()
    if image is None:
        raise Http404("No such image.")
    project = opening_project(authorization, image, current_project(request, authorization), rejected_too=rejected_too)
    if project is None:
        raise Http404("This image is outside the projects you can see.")
    remember_project(request, project.name)
    return image, project


def opening_project(authorization, image: Image, current: Project, *, rejected_too: bool = False) -> Project | None:
    """The project an image's page opens it from: the current one, else its owner, else a member project,
    the first the user holds permissions in and that sees the image; None when there is none (the top
    bar's search asks the same, accounts/search.py)."""
    reachable = authorization.project_names_with_any_permission
    for project in [current, image.project, *(member.project for member in image.members.all())]:
        if (reachable is None or project.name in reachable) and visible_from(image, project, rejected_too=rejected_too):
            return project
    return None


def tab_parts(project: Project, tab: str) -> list:
    """The images one tab lists for `project`, as index ranges whose union is the tab (the Public tab is
    two: public and marketplace types, each walked in order through its own index)."""
    if tab == "public":
        return [Image.objects.filter(image_type=image_type) for image_type in PUBLIC_TYPES]
    if tab == "shared":
        return [Image.objects.filter(members__project=project, members__status=ImageMember.Status.ACCEPTED)]
    if tab == "awaiting":
        return [Image.objects.filter(members__project=project, members__status=ImageMember.Status.PENDING)]
    return [Image.objects.filter(project=project, image_type=Image.ImageType.PRIVATE)]


@dataclass
class ImageQuery:
    """The browser's query string, cleaned: unknown values fall back to defaults instead of failing."""

    tab: str = "private"
    q: str = ""
    tag: str = ""
    sort: str = "name"
    cursor: str = ""
    size: int = DEFAULT_PAGE_SIZE
    filters: dict | None = None

    @classmethod
    def from_request(cls, request) -> ImageQuery:
        params = request.GET
        tab = params.get("tab", "private")
        sort = params.get("sort", "name")
        try:
            size = int(params.get("size", DEFAULT_PAGE_SIZE))
        except ValueError:
            size = DEFAULT_PAGE_SIZE
        filters = {}
        for name in FILTER_FIELDS:
            value = params.get(name, "")
            if value in _filter_values(name):
                filters[name] = value
        return cls(
            tab=tab if tab in dict(TABS) else "private",
            q=params.get("q", "").strip()[:128],
            tag=params.get("tag", "").strip()[:80],
            sort=sort if sort.lstrip("-") in SORTS else "name",
            cursor=params.get(CURSOR_PARAM, "")[:512],
            size=size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
            filters=filters,
        )

    @property
    def narrowed(self) -> bool:
        """Whether a search, a filter or a tag narrows the tab."""
        return bool(self.q or self.filters or self.tag)

    @property
    def order(self) -> tuple[str, ...]:
        fields = SORTS[self.sort.lstrip("-")]
        return tuple(f"-{field}" for field in fields) if self.sort.startswith("-") else fields

    def params(self, **changes) -> dict:
        """The query as URL parameters (non-defaults only), with `changes` applied."""
        values = {"tab": self.tab, "q": self.q, "tag": self.tag, "sort": self.sort, CURSOR_PARAM: self.cursor,
                  "size": self.size, **(self.filters or {})}
        values.update(changes)
        defaults = {"tab": "private", "sort": "name", "size": DEFAULT_PAGE_SIZE}
        return {k: v for k, v in values.items() if v not in ("", None) and defaults.get(k) != v}


    def query_string(self, project, **changes) -> str:
        """The list URL's query string with `changes`, keeping the project (a shareable link)."""
        return "?" + urlencode({"project": project.name, **self.params(**changes)})


def _filter_values(name: str) -> set[str]:
    if name == "platform":
        return set(Image.PLATFORMS)
    return {value for value, _ in Image._meta.get_field(name).choices}


def _unindexed(images, name: str, value, lookup: str = "exact"):
    """`images` where field `name` matches `value`, written `+field` on SQLite: a term no index serves,
    checked row by row while the planner walks the sort's index (images/list_plan.py)."""
    if connection.vendor != "sqlite":
        return images.filter(**{f"{name}__{lookup}": value})
    field = Image._meta.get_field(name)
    alias = f"unindexed_{name}"
    plain = Func(F(field.attname), template="+%(expressions)s", output_field=field)
    return images.alias(**{alias: plain}).filter(**{f"{alias}__{lookup}": value})


def name_search(images, text: str, *, walk: bool = False, row_by_row: bool = False):
    """Images whose name contains `text` (any case), through the database's trigram index.

    SQLite: the FTS5 trigram table kept by triggers (images.search_index); PostgreSQL: the pg_trgm
    GIN index on UPPER(name), which `icontains` uses. Under three characters no trigram exists, so the
    name is scanned. With `row_by_row` (SQLite, an ASCII word many images share: images.list_plan), each
    name is tested as the rows are walked or counted instead (_name_tested_row_by_row): the same rows.
    """
    if len(text) >= 3 and connection.vendor == "sqlite":
        phrase = sqlite_phrase(text)
        if row_by_row:
            return images.filter(_name_tested_row_by_row(text, phrase))
        if walk:
            return _unindexed(images, "id", RawSQL(SQLITE_MATCH, [phrase]), lookup="in")
        return images.filter(pk__in=RawSQL(SQLITE_MATCH, [phrase]))
    return images.filter(name__icontains=text)


def _name_tested_row_by_row(text: str, phrase: str):
    """The SQLite trigram index's answer for an ASCII `text`, as a test of each row's name: for an ASCII name,
    LIKE (which folds ASCII case, as the index does: `%`, `_` and `\\` escaped by `icontains`), read from
    the index being walked; a name with other characters (the index folds them by Unicode's rules) is looked
    up among the index's matches, which SQLite reads once, and only if such a name is met."""
    name = F("name")
    ascii_name = Exact(Length(Cast(name, BinaryField())), Length(name))
    return Case(When(ascii_name, then=IContains(name, text)), default=In(F("pk"), RawSQL(SQLITE_MATCH, [phrase])),
                output_field=BooleanField())


def _walks_in_order(name: str, query: ImageQuery) -> bool:
    """Whether the index of filter `name` walks the rows in the query's order: one status's images are in
    name order in the status sort's index (status, name, id), which also holds the name a search tests, so
    SQLite walks it without reading a row (the name sort's index would read each row for its status)."""
    return name == "status" and query.sort.lstrip("-") == "name"


def _narrowed(images, query: ImageQuery, *, walk: bool = False, row_by_row: bool = False):
    """`images` narrowed by the query's search, filters and tag; with `walk`, written so that no index
    serves the search or the filters (SQLite), for a page found by walking the sort's index; with
    `row_by_row`, the search tests each name (name_search)."""
    if (query.filters or {}).get("status") != Image.Status.DELETED:
        images = images.exclude(status=Image.Status.DELETED)
    if query.q:
        images = name_search(images, query.q, walk=walk, row_by_row=row_by_row)
    for name, value in (query.filters or {}).items():
        images = _unindexed(images, name, value) if walk and not _walks_in_order(name, query) else images.filter(
            **{name: value})
    if query.tag:
        key, _, value = query.tag.partition("=")
        tags = ImageTag.objects.filter(image=OuterRef("pk"), key=key.strip())
        if value.strip():
            tags = tags.filter(value=value.strip())
        images = images.filter(Exists(tags))
    return images


def image_page(project: Project, query: ImageQuery, *, quota: bool = False, awaiting: bool = False,
               request=None) -> KeysetPage:
    """One page of a tab by keyset over the sort's index, its relations attached. The count (capped) and,
    when asked, the project's quota use and the shares awaiting its acceptance are read in one query beside
    it (`extra_counts`, in that order)."""
    tab = tab_parts(project, query.tab)
    row_by_row = bool(query.q) and searches_name_row_by_row(connection, query.q)
    parts = [_narrowed(part, query, row_by_row=row_by_row) for part in tab]
    also = ([quota_images(project)] if quota else []) + ([awaiting_images(project)] if awaiting else [])
    projects = all_projects(request)
    choice = None
    if connection.vendor == "sqlite" and query.narrowed:  # PostgreSQL's statistics choose well alone
        # Unfiltered, the Private tab is exactly what its quota counts: already counted beside the page.
        choice = PlanChoice(totals=lambda: also if query.tab == "private" and also else
                            [_narrowed(part, ImageQuery()) for part in tab],
                            walks=lambda: [_narrowed(part, query, walk=True, row_by_row=row_by_row) for part in tab])
    return keyset_page(parts, query.order, size=query.size, cursor=query.cursor,
                       attach=lambda rows: attach_relations(rows, projects),
                       also_count=also, also_count_cap=QUOTA_COUNT_CAP, plan=choice,
                       keys_first=connection.vendor == "postgresql")  # walks its indexes alone (search_index)


# The quota line counts this far ("more than 1,000 of 100 used"): ten times the quota says all there
# is to say, and a project of bulk-loaded images is not counted to 10,000 on every page.
QUOTA_COUNT_CAP = 10 * PRIVATE_IMAGE_QUOTA


def quota_images(project: Project):
    """Images counted against the project's quota: its private images but the deleted ones, which
    is exactly what its Private tab lists without filters (the line and the list agree)."""
    return Image.objects.filter(project=project, image_type=Image.ImageType.PRIVATE).exclude(
        status=Image.Status.DELETED)


def awaiting_images(project: Project):
    """Images shared with the project and awaiting its acceptance: what its Awaiting tab lists unfiltered."""
    return _narrowed(tab_parts(project, "awaiting")[0], ImageQuery())


REJECTED_SHOWN = 20


def rejected_shares(project: Project, projects: list[Project]) -> tuple[list[Image], bool]:
    """Images shared with the project that it rejected (it may accept them again), by name; the first
    REJECTED_SHOWN, and whether there are more. Three queries, whatever their number."""
    images = list(Image.objects.filter(members__project=project, members__status=ImageMember.Status.REJECTED)
                  .exclude(status=Image.Status.DELETED).order_by("name", "id")[:REJECTED_SHOWN + 1])
    attach_relations(images, projects)
    return images[:REJECTED_SHOWN], len(images) > REJECTED_SHOWN


def private_image_count(project: Project) -> int:
    return quota_images(project).count()


def simulator_images(user, project: Project, *, limit: int) -> list[tuple[str, str]]:
    """Images the user may open in `project`, with the condition keys each supplies as `key=value`
    lines: the simulator's image picker fills its context with them (registered in images.apps)."""
    authorization = authz.authorization_for(user)
    if not authorization.allows("ims:images:get", project):
        return []
    images = [image for part in tab_parts(project, "private") + tab_parts(project, "shared")
              for image in with_relations(part.exclude(status=Image.Status.DELETED).order_by("name", "id")[:limit])]
    images.sort(key=lambda image: image.name.lower())
    lines = [(image.name, authz.image_context(image, project.name).items()) for image in images[:limit]]
    return [(name, "\n".join(f"{key}={value}" for key, value in keys)) for name, keys in lines]
