"""Pages of the image browser. Views stay thin: ask the policy engine, call a service, answer.

A refusal by the engine is a 403 (a page, or for htmx a fragment shown as a message); an image
the user's projects don't see is a 404; a state rule that forbids the operation is a 409; bad
input is the form again with its errors (422); success redirects (for htmx, via HX-Redirect).
"""

from __future__ import annotations

import functools
import html
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import authz, impact, permissions, who_can
from accounts.findings import localized
from accounts.forms import add_service_errors
from accounts.iam.who_can_views import WHO_CAN_ACTIONS, who_can_context
from accounts.models import AuditEvent
from accounts.permissions import permission_required_action
from accounts.responses import refusal_fragment
from accounts.selectors import all_projects
from preferences import moments
from preferences.services import update_preferences
from preferences.session import remember as remember_preferences

from . import forms, selectors, services
from .models import Image
from .operations import (
    BULK_OPERATIONS,
    CREATE_ACTIONS,
    OPERATIONS,
    OPERATIONS_BY_NAME,
    PRIVATE_IMAGE_QUOTA,
    ImageChanged,
    controls_for,
    create_controls,
    membership_of,
)

ROW_OPERATIONS = tuple(operation for operation in OPERATIONS if operation.in_row)
BAR_OPERATIONS = tuple(operation for operation in OPERATIONS if not operation.per_member)
HISTORY_LENGTH = 25
MAX_NEXT_LENGTH = 2048
WHO_CAN_GRANT = "a member of the admin group or a user with the Security Administrator role"


def _safe_next(request, fallback: str) -> str:
    """`next` when it is a printable path of this site; anything else would not be a place to go back to."""
    target = request.POST.get("next", "")
    local = target.startswith("/") and target.isprintable() and len(target) <= MAX_NEXT_LENGTH
    if local and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _finish(request, url: str):
    """Success: a redirect, or for htmx an HX-Redirect the page follows."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- the list ---------------------------------------------------------------------------------


# Display labels of the row cells, looked up once: a model's get_FOO_display() rebuilds its choices each call.
_LABELS = {name: dict(Image._meta.get_field(name).flatchoices)
           for name in ("status", "architecture", "disk_format", "kind")}


@dataclass(frozen=True)
class Row:
    """One list row: the image, what the viewer may do to it, and its cells' text, prepared in Python
    (a list draws many rows; filters and display lookups in the template cost more than these lines).
    The `image_rows` tag draws it through images/_row.html: its booleans and which texts are empty
    make the row's shape, the texts are filled in (escaped; `tags` is HTML already)."""

    image: Image
    controls: list
    pk: str
    name: str
    url: str
    can_open: bool
    open_reason: str
    protected: bool
    encryption_key_id: str
    status: str
    status_label: str
    share_status: str
    platform: str
    architecture_label: str
    os_version: str
    disk_format_label: str
    size_label: str
    created_iso: str
    created_label: str
    created_utc: str
    seen_as: str
    kind_label: str
    project_name: str
    tags: str  # the tag chips, as HTML


def _tag_chips(tags) -> str:
    """A row's tags as chips; escaped by the standard library's escape (Django's, lazy-aware, costs
    several times more, and a list escapes a few hundred tags)."""
    return mark_safe("".join(f'<span class="tag">{html.escape(f"{tag.key}={tag.value}" if tag.value else tag.key)}'
                             "</span> " for tag in tags))


def _rows(authorization, images, project) -> list[Row]:
    """Each row's controls, decided in memory from the compiled policies (no query per row)."""
    rows = []
    for image in images:
        opening = authorization.decide("ims:images:get", project, image)
        membership = membership_of(image, project)
        seen_as = image.image_type
        if image.image_type == Image.ImageType.PRIVATE and image.project_id != project.pk:
            seen_as = Image.ImageType.SHARED
        rows.append(Row(
            image=image,
            controls=controls_for(authorization, image, project, ROW_OPERATIONS, applicable_only=True),
            pk=str(image.pk),
            name=image.name,
            url=image.get_absolute_url(),
            can_open=opening.allowed,
            open_reason="" if opening.allowed else opening.summary,
            protected=image.protected,
            encryption_key_id=image.encryption_key_id or "",
            status=image.status,
            status_label=_LABELS["status"].get(image.status, image.status),
            share_status=membership.get_status_display().lower() if membership else "",
            platform=image.platform,
            architecture_label=_LABELS["architecture"].get(image.architecture, image.architecture),
            os_version=image.os_version,
            disk_format_label=_LABELS["disk_format"].get(image.disk_format, image.disk_format),
            size_label=filesizeformat(image.size),
            created_iso=moments.utc_iso(image.created_at),
            created_label=moments.label(image.created_at),
            created_utc=moments.utc_text(image.created_at),
            seen_as=str(Image.ImageType(seen_as).label),
            kind_label=str(_LABELS["kind"].get(image.kind, image.kind)),
            project_name=image.project.name,
            tags=_tag_chips(image.tags.all()),
        ))
    return rows


_FILTER_CHOICES = (
    ("os_type", gettext_lazy("OS type"), tuple(Image.OsType.choices)),
    ("platform", gettext_lazy("Platform"), tuple((p, p) for p in Image.PLATFORMS)),
    ("architecture", gettext_lazy("Architecture"), tuple(Image.Architecture.choices)),
    ("status", gettext_lazy("Status"), tuple(Image.Status.choices)),
    ("disk_format", gettext_lazy("Disk format"), tuple(Image.DiskFormat.choices)),
)
_COLUMNS = (("name", gettext_lazy("Name")), ("status", gettext_lazy("Status")), ("os", gettext_lazy("OS")),
            ("format", gettext_lazy("Disk format")), ("size", gettext_lazy("Size")),
            ("created", gettext_lazy("Created")))


@dataclass(frozen=True)
class SortColumn:
    key: str
    label: str
    url: str  # the list sorted by this column: ascending, or descending when it is the ascending sort now
    aria_sort: str  # "ascending", "descending" or ""
    arrow: str


def _filter_choices(query) -> list[tuple[str, str, str]]:
    """The toolbar's filters: (field, label, its <option>s with the chosen one selected)."""
    chosen = query.filters or {}
    return [(name, label, _filter_options(name, chosen.get(name, ""), get_language()))
            for name, label, _ in _FILTER_CHOICES]


@functools.cache
def _filter_options(name: str, selected: str, language: str) -> str:
    """One filter's <option>s, written once per process for each value chosen (a handful per filter) in
    each language."""
    choices = dict((field, options) for field, _, options in _FILTER_CHOICES)[name]
    return format_html_join("", '<option value="{}"{}>{}</option>',
                            ((value, mark_safe(" selected") if value == selected else "", text)
                             for value, text in choices))


def _sort_columns(query, project) -> list[SortColumn]:
    """The sortable column headers with their links, the current sort marked."""
    columns = []
    for key, label in _COLUMNS:
        ascending, descending = query.sort == key, query.sort == f"-{key}"
        url = query.query_string(project, sort=f"-{key}" if ascending else key, cursor="")
        columns.append(SortColumn(key, label, url,
                                  "ascending" if ascending else "descending" if descending else "",
                                  " ▲" if ascending else " ▼" if descending else ""))
    return columns


LIST_ACTION = "ims:images:list"
GRANT_ACTION = "iam:permissions:grantPermission"


def _way_back(request, authorization, project) -> dict:
    """For a person refused the list here: the projects where the engine lets them list (decided in
    memory), else who may grant it — by name only when who-can's permissions allow (who_can.may_see_names)."""
    listable = [p for p in all_projects(request) if p.pk != project.pk and authorization.allows(LIST_ACTION, p)]
    granters = None
    if not listable and who_can.may_see_names(authorization):
        granters = [member.username for member, _ in who_can.who_can(GRANT_ACTION).allowed if member.is_active]
    return {"listable_projects": listable, "granters": granters}


def _remember_last_project(request, project) -> None:
    """The project whose list the person opened: the console opens it next time (preferences.last_project);
    written only when it changes."""
    shown = getattr(request, "preferences", None)
    if shown is not None and shown.last_project != project.name:
        remember_preferences(request, update_preferences(actor=request.user, last_project=project))


def _shared_extras(request, authorization, project, awaiting: int) -> dict:
    """The Shared tab: how many shares await acceptance (counted beside the page), and the shares this
    project rejected, each with Accept again (enabled as the engine and the share rule decide)."""
    rejected, more = selectors.rejected_shares(project, all_projects(request))
    accept = OPERATIONS_BY_NAME["accept"]
    return {"awaiting_count": awaiting,
            "rejected": [(image, next(iter(controls_for(authorization, image, project, (accept,))), None))
                         for image in rejected],
            "more_rejected": more}


@permission_required_action("ims:images:list", in_view=True)
def image_list(request):
    """The image browser of the current project: tabs, search, filters, sorting, pages."""
    authorization = request.authorization
    project = selectors.current_project(request, authorization)
    query = selectors.ImageQuery.from_request(request)
    # An htmx refresh gets the refusal fragment; the page itself explains who can grant the action.
    listing = permissions.check(request, "ims:images:list", project=project, refuse=bool(request.htmx))
    context = {
        "project": project,
        "switcher": lambda: selectors.project_switcher(request, authorization, project),
        "query": query,
        "tabs": selectors.TABS,
        "listing": listing,
        "who_can_grant": WHO_CAN_GRANT,
    }
    if not listing.allowed:
        context.update(_way_back(request, authorization, project))
        return render(request, "images/list.html", context, status=403)
    _remember_last_project(request, project)
    shared = query.tab == "shared"
    page = selectors.image_page(project, query, quota=query.tab == "private", awaiting=shared, request=request)
    rows = _rows(authorization, page.rows, project)
    allowed_in_rows = {control.name for row in rows for control in row.controls}
    context.update(
        page=page,
        rows=rows,
        bulk=[op for op in BULK_OPERATIONS if op.bulk_tab == query.tab and op.name in allowed_in_rows],
        filters=_filter_choices(query),
        page_sizes=selectors.PAGE_SIZES,
        columns=_sort_columns(query, project),
        next_url=request.get_full_path(),
    )
    if shared:
        context.update(_shared_extras(request, authorization, project, page.extra_counts[0]))
    if query.tab == "private":
        used = page.extra_counts[0]  # counted beside the page, up to QUOTA_COUNT_CAP + 1
        context["create_controls"] = create_controls(authorization, project, used)
        if authorization.allows("ims:quotas:get", project):
            cap = selectors.QUOTA_COUNT_CAP
            context["quota"] = {"used": used, "limit": PRIVATE_IMAGE_QUOTA,
                                "label": f"more than {cap:,}" if used > cap else str(used)}
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return render(request, "images/list.html#results", context)
    return render(request, "images/list.html", context)


# --- details --------------------------------------------------------------------------------


def _detail_context(request, authorization, image, project, bound=None):
    controls = {control.name: control for control in controls_for(authorization, image, project, applicable_only=True)}
    bound = bound or {}
    sections = {}
    for name, control in controls.items():
        if name in bound:
            sections[name] = bound[name]
        elif control.enabled and control.operation.needs_input:
            # An operation on one share member has its form beside each member, not a section.
            sections[name] = None if control.operation.per_member else control.operation.form.for_image(request, image)
    owner_view = image.project_id == project.pk
    bar = [controls[op.name] for op in BAR_OPERATIONS if op.name in controls]
    return {
        "image": image,
        "project": project,
        "switcher": lambda: selectors.project_switcher(request, authorization, project),
        "bar": bar,
        "unavailable": [control for control in bar if not control.enabled],
        "controls": controls,
        "sections": sections,
        "members": list(image.members.all()) if owner_view else [],
        "owner_view": owner_view,
        "membership": membership_of(image, project),
        "seen_as": authz.image_context(image, project.name)["ims:ImageType"],
        # Each project sees its own history of the image: a project it is shared with (or anyone, for a
        # public image) does not read who in the owner's project did what, nor the owner its members'.
        "history": list(AuditEvent.objects.filter(target_type="image", target_id=str(image.pk),
                                                  project=project.name)[:HISTORY_LENGTH]),
        "max_upload": settings.IMSPERM_MAX_UPLOAD_BYTES,
        "can_ask_who_can": who_can.may_see_names(authorization),
        # Downloads ask what Export asks: the engine's ims:images:export on this image, from this project.
        "exports": (services.recent_exports(image, project)
                    if authorization.allows(EXPORT_ACTION, project, image) else None),
    }


@permission_required_action("ims:images:get", in_view=True)
def image_detail(request, pk):
    """An image's attributes, tags, share members, history, and every operation the user may try."""
    authorization = request.authorization
    image, project = selectors.image_for_request(request, authorization, pk)
    permissions.check(request, "ims:images:get", project=project, image=image)
    return render(request, "images/detail.html", _detail_context(request, authorization, image, project))


@permission_required_action("ims:images:get", *WHO_CAN_ACTIONS, in_view=True)
def image_who_can(request, pk):
    """Who may do an action to this image, seen from the project it is opened in, and why.

    The viewer must see the image (a 404 otherwise, as its own page) and hold the IAM read
    actions that listing users and their grants needs.
    """
    image, project = selectors.image_for_request(request, request.authorization, pk)
    permissions.check(request, "ims:images:get", project=project, image=image)
    for action in WHO_CAN_ACTIONS:
        permissions.check(request, action)
    context, status = who_can_context(request, image=image, project=project)
    return render(request, "iam/whocan/who_can.html", context, status=status)


EXPORT_ACTION = OPERATIONS_BY_NAME["export"].action


@permission_required_action(EXPORT_ACTION, in_view=True)
@require_GET
def image_export_download(request, pk, export_pk):
    """An export of the image, made from the project it is opened in, as a streamed attachment.

    The engine decides ims:images:export on the image, as for exporting it (403, audited); an image
    outside the user's projects, or an export of another image or project, is a 404; the download is
    audited with the file's SHA-256.
    """
    image, project = selectors.image_for_request(request, request.authorization, pk)
    permissions.check(request, EXPORT_ACTION, project=project, image=image)
    export = services.export_for_download(actor=request.user, image=image, project=project, export_pk=export_pk)
    response = FileResponse(export.file.open("rb"), as_attachment=True, filename=export.name,
                            content_type="application/json" if export.is_manifest else "application/octet-stream")
    response["X-Checksum-SHA256"] = export.sha256
    return response


# --- operations on one image -------------------------------------------------------------------


def _form_error(request, authorization, image, project, name, form):
    context = _detail_context(request, authorization, image, project, bound={name: form})
    if request.htmx:
        return render(request, f"images/detail.html#{name}-form", {**context, "form": form}, status=422)
    return render(request, "images/detail.html", context, status=422)


def _conflict_error(request, authorization, current, project, name, form, conflict):
    """409: the form keeps what the user typed, now at the current revision, beside the current values
    (saving it again is a deliberate overwrite of that newer revision)."""
    form.data = form.data.copy()
    form.data["revision"] = current.revision
    form.add_error(None, conflict)
    context = _detail_context(request, authorization, current, project, bound={name: form})
    context["conflict"] = {"operation": name, "values": form.current_values(current)}
    if request.htmx:
        return render(request, f"images/detail.html#{name}-form", {**context, "form": form}, status=409)
    return render(request, "images/detail.html", context, status=409)


def _state_error(request, authorization, image, project, reason: str):
    if request.htmx:
        return refusal_fragment(reason, 409, request)
    messages.error(request, reason)
    return render(request, "images/detail.html", _detail_context(request, authorization, image, project), status=409)


def _operation_action(url_kwargs) -> str | None:
    op = OPERATIONS_BY_NAME.get(url_kwargs["operation"])
    return op.action if op is not None else None


OPERATION_ACTIONS = tuple(sorted({operation.action for operation in OPERATIONS}))


def _upload_killed(request, error: ValidationError):
    """The image itself changed (status, banner, every control): the whole page is reloaded so nothing
    on it still says "Queued"; the reason comes as a message."""
    messages.error(request, " ".join(error.messages))
    response = HttpResponse(status=422)
    response["HX-Refresh"] = "true"
    return response


def _operation_failed(request, authorization, image, project, op, form, error: ValidationError):
    """The service refused the input or the image's state: the form with the errors, else a 409."""
    if form is None:
        return _state_error(request, authorization, image, project, " ".join(error.messages))
    if isinstance(error, ImageChanged):
        image.refresh_from_db()
        if request.htmx:
            return _upload_killed(request, error)
    add_service_errors(form, error)
    return _form_error(request, authorization, image, project, op.name, form)


@permission_required_action(*OPERATION_ACTIONS, in_view=True, action_from_url=_operation_action)
@require_POST
def image_operation(request, pk, operation):
    """POST /images/<uuid>/<operation>/: the engine decides, the state rules check, the operation's form
    cleans the input, its service acts. An operation not declared in OPERATIONS is a 404."""
    op = OPERATIONS_BY_NAME.get(operation)
    if op is None:
        raise Http404("No such image operation.")
    authorization = request.authorization
    # A share the project rejected is out of its sight, but not out of reach of Accept (again).
    image, project = selectors.image_for_request(request, authorization, pk, rejected_too=op.name == "accept")
    permissions.check(request, op.action, project=project, image=image)
    reason = op.rule(image, project)
    if reason:
        return _state_error(request, authorization, image, project, reason)
    form = op.form.for_image(request, image, request.POST, request.FILES) if op.form else None
    if form is not None and not form.is_valid():
        return _form_error(request, authorization, image, project, op.name, form)
    try:
        done = op.perform(request.user, image, project, form.cleaned_data if form else {})
    except services.ConcurrentImageEditError as conflict:
        return _conflict_error(request, authorization, conflict.current, project, op.name, form, conflict)
    except ValidationError as error:
        return _operation_failed(request, authorization, image, project, op, form, error)
    messages.success(request, done.message)
    destination = done.url or image.get_absolute_url()
    if not op.needs_input:
        # One-click operations are offered in list rows too, which ask to come back to the list.
        destination = _safe_next(request, destination)
    return _finish(request, destination)


# --- create ----------------------------------------------------------------------------------


@permission_required_action(*CREATE_ACTIONS.values(), any_of=True, in_view=True)
def image_create(request):
    """Register a new private image in the current project (the kind decides the action needed)."""
    authorization = request.authorization
    project = selectors.current_project(request, authorization)
    kinds = [kind for kind, action in CREATE_ACTIONS.items() if authorization.allows(action, project)]
    if not kinds:
        permissions.check(request, CREATE_ACTIONS[Image.Kind.SYSTEM], project=project)
    if request.method == "POST":
        requested_kind = request.POST.get("kind", "")
        if requested_kind in CREATE_ACTIONS and requested_kind not in kinds:
            permissions.check(request, CREATE_ACTIONS[requested_kind], project=project)
        form = forms.ImageCreateForm(request.POST, kinds=kinds)
        if form.is_valid():
            attributes = {k: v for k, v in form.cleaned_data.items() if k != "kind"}
            try:
                image = services.image_create(actor=request.user, project=project, kind=form.cleaned_data["kind"],
                                              **attributes)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, (gettext("Image %(name)s was created in %(name2)s. Upload its file next.")
                                           % {"name": image.name, "name2": project.name}))
                return _finish(request, image.get_absolute_url())
        status = 422
    else:
        initial_kind = request.GET.get("kind")
        form = forms.ImageCreateForm(initial={"kind": initial_kind if initial_kind in kinds else kinds[0]},
                                     kinds=kinds)
        status = 200
    chosen = form["kind"].value() if form["kind"].value() in kinds else kinds[0]
    context = {"form": form, "project": project, "create_action": CREATE_ACTIONS[chosen],
               "switcher": lambda: selectors.project_switcher(request, authorization, project)}
    return render(request, "images/create.html", context, status=status)


# --- bulk ------------------------------------------------------------------------------------


def _selected_ids(request) -> list[uuid.UUID]:
    ids = []
    for value in (request.POST if request.method == "POST" else request.GET).getlist("ids"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


def _bulk_summary(request, op, done, skipped, *, missing: int, project) -> None:
    """One message for the whole bulk run: "2 exported, 8 skipped", each image's outcome listed under it."""
    outcomes = done + skipped
    if missing:
        outcomes.append((ngettext("%(count)s selected image", "%(count)s selected images", missing)
                         % {"count": missing}, gettext("not found in %(project)s.") % {"project": project.name}))
    past = pgettext("image operation done", op.past) if op.past else op.label.lower() + "ed"
    counts = [gettext("%(count)s %(done)s") % {"count": len(done), "done": past}] if done else []
    if skipped or missing:
        counts.append(gettext("%(count)s skipped") % {"count": len(skipped) + missing})
    headline = ", ".join(counts) + "."
    items = format_html_join("", "<li><strong>{}</strong>: {}</li>", outcomes)
    text = format_html('<span class="bulk-headline" data-testid="bulk-summary">{}</span>'
                       '<ul class="bulk-outcomes">{}</ul>', headline, items)
    level = messages.SUCCESS if not (skipped or missing) else messages.WARNING if done else messages.ERROR
    messages.add_message(request, level, text, extra_tags="bulk")


def _not_allowed(explanation) -> str:
    return gettext("not allowed. %(why)s") % {"why": explanation.summary}


def _bulk_run(request, op, images, decisions, project) -> tuple[list, list]:
    """Run `op` on each image the engine allows and its state permits: (name, message) of those done,
    (name, why) of those skipped, in the images' order."""
    done, skipped = [], []
    for image in images:
        if not decisions[image.pk].allowed:
            skipped.append((image.name, _not_allowed(decisions[image.pk])))
            continue
        reason = op.rule(image, project)
        if reason:
            skipped.append((image.name, reason))
            continue
        try:
            message = op.perform(request.user, image, project, {}).message
        except (ValidationError, PermissionDenied) as error:
            text = (" ".join(error.messages) if isinstance(error, ValidationError)  # in the person's language
                    else localized(error.args[0]) if error.args else "")
            skipped.append((image.name, gettext("failed. %(why)s") % {"why": text}))
        else:
            done.append((image.name, message))
    return done, skipped


def _bulk_review(request, op, images, decisions, project, *, missing: int):
    """What the bulk run would do to each image, before it runs; the POST decides each one again."""
    accepted = impact.accepted_elsewhere(images, project)
    rows = [{"image": image, "accepted": accepted.get(image.pk, []),
             "skip": (None if decisions[image.pk].allowed else _not_allowed(decisions[image.pk]))
             or op.rule(image, project)} for image in images]
    context = {"op": op, "rows": rows, "project": project, "missing": missing,
               "going": sum(1 for row in rows if not row["skip"]),
               "accepted_count": sum(1 for row in rows if row["accepted"] and not row["skip"])}
    template = "images/bulk_review.html#review" if request.htmx else "images/bulk_review.html"
    return render(request, template, context)


def _bulk_action(url_kwargs) -> str | None:
    op = OPERATIONS_BY_NAME.get(url_kwargs["operation"])
    return op.action if op is not None and op.bulk else None


@permission_required_action(*sorted({op.action for op in BULK_OPERATIONS}), in_view=True,
                            action_from_url=_bulk_action)
@require_http_methods(["GET", "POST"])
def image_bulk(request, operation):
    """Run one operation on each selected image of the current project; say per image what happened.
    GET ?ids=…: the review first (the images by name, those the engine or their state would skip, and
    which other projects have accepted each one), for the console's dialog (htmx) or as a page."""
    op = OPERATIONS_BY_NAME.get(operation)
    if op is None or not op.bulk:
        raise Http404("No such bulk operation.")
    authorization = request.authorization
    project = selectors.current_project(request, authorization)
    back = _safe_next(request, reverse("images:list"))
    ids = _selected_ids(request)
    if not ids and request.method != "POST":  # a review of nothing: refused like the run, else not found
        permissions.check(request, op.action, project=project)
        raise Http404("Select at least one image first.")
    if not ids:
        messages.warning(request, gettext("Select at least one image first."))
        return _finish(request, back)
    images = list(selectors.with_relations(Image.objects.filter(pk__in=ids)).order_by("name", "id"))
    visible = [image for image in images if selectors.visible_from(image, project)]
    if not visible:
        raise Http404("None of the selected images is visible from this project.")
    decisions = {image.pk: permissions.check(request, op.action, project=project, image=image, refuse=False)
                 for image in visible}
    if not any(decision.allowed for decision in decisions.values()):
        permissions.deny(next(iter(decisions.values())))
    if request.method != "POST":
        return _bulk_review(request, op, visible, decisions, project, missing=len(ids) - len(visible))
    done, skipped = _bulk_run(request, op, visible, decisions, project)
    missing = len(ids) - len(visible)
    _bulk_summary(request, op, done, skipped, missing=missing, project=project)
    return _finish(request, back)
