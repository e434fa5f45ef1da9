"""Role dependencies as a small picture: boxes in rows by depth, arrows down from a role to what it needs.

Drawn as inline SVG by templates/iam/policies/_dependency_picture.html (no script, no CDN, no
inline style: CSP allows it as it is), with a <title> and <desc> saying the same in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Policy

BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 190, 36, 14, 34, 8
CHARACTERS_PER_BOX = 24


@dataclass(frozen=True)
class Box:
    name: str
    url: str
    x: int
    y: int
    is_root: bool
    width: int = BOX_WIDTH
    height: int = BOX_HEIGHT

    @property
    def label(self) -> str:
        if len(self.name) <= CHARACTERS_PER_BOX:
            return self.name
        return self.name[: CHARACTERS_PER_BOX - 1] + "…"

    @property
    def text_x(self) -> int:
        return self.x + BOX_WIDTH // 2

    @property
    def text_y(self) -> int:
        return self.y + BOX_HEIGHT // 2 + 5


@dataclass(frozen=True)
class Arrow:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Picture:
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    width: int
    height: int
    description: str

    @property
    def has_dependencies(self) -> bool:
        return bool(self.arrows)


def dependency_picture(roots, edges: dict | None = None) -> Picture:
    """The roots (top row) and everything they need, transitively, one row per step.

    A role needed at several depths is drawn once, in its deepest row, so every arrow points down.
    """
    if edges is None:
        roles = Policy.objects.prefetch_related("depends_on").filter(kind=Policy.Kind.ROLE)
        edges = {role.pk: list(role.depends_on.all()) for role in roles}
    depth, policies = _depths(roots, edges)
    rows: dict[int, list] = {}
    for pk, level in depth.items():
        rows.setdefault(level, []).append(policies[pk])
    places = _boxes(rows, {root.pk for root in roots})
    across = max((len(members) for members in rows.values()), default=1)
    width = 2 * MARGIN + across * BOX_WIDTH + (across - 1) * COLUMN_GAP
    height = 2 * MARGIN + len(rows) * BOX_HEIGHT + max(len(rows) - 1, 0) * ROW_GAP
    description = "; ".join(
        f"{policies[pk].name} needs {' and '.join(sorted(d.name for d in edges.get(pk, [])))}"
        for pk in sorted(places, key=lambda pk: (depth[pk], policies[pk].name)) if edges.get(pk)
    ) or " and ".join(sorted(root.name for root in roots)) + " needs no other role"
    return Picture(tuple(places.values()), tuple(_arrows(places, edges)), width, height, description + ".")


def _depths(roots, edges: dict) -> tuple[dict[int, int], dict]:
    """Each role reached from `roots` at its deepest level (cycles cut), and the roles by id."""
    depth: dict[int, int] = {}
    policies: dict = {}

    def visit(policy, level, trail):
        policies[policy.pk] = policy
        if depth.get(policy.pk, -1) >= level or policy.pk in trail:
            return
        depth[policy.pk] = level
        for needed in edges.get(policy.pk, []):
            visit(needed, level + 1, trail | {policy.pk})

    for root in roots:
        visit(root, 0, frozenset())
    return depth, policies


def _boxes(rows: dict[int, list], root_ids: set) -> dict[int, Box]:
    """A box per role: one row per level, each row in name order."""
    places: dict[int, Box] = {}
    for level, members in sorted(rows.items()):
        for place, policy in enumerate(sorted(members, key=lambda p: p.name)):
            places[policy.pk] = Box(policy.name, policy.get_absolute_url(),
                                    MARGIN + place * (BOX_WIDTH + COLUMN_GAP),
                                    MARGIN + level * (BOX_HEIGHT + ROW_GAP), policy.pk in root_ids)
    return places


def _arrows(places: dict[int, Box], edges: dict) -> list[Arrow]:
    """An arrow down from each box to each role it needs drawn below it."""
    arrows = []
    for pk, box in places.items():
        for needed in edges.get(pk, []):
            target = places.get(needed.pk)
            if target is not None and target.y > box.y:
                arrows.append(Arrow(box.x + BOX_WIDTH // 2, box.y + BOX_HEIGHT,
                                    target.x + BOX_WIDTH // 2, target.y - 4))
    return arrows
