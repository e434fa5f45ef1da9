"""The IAM configuration document: its model, its JSON Schema, its canonical text, and its locations.

One document holds the account's regions and projects, users (without secrets), groups and their
members by user name, custom policies, and grants. The text is canonical — every list sorted by
name, every object's keys in a fixed order, policy documents with sorted keys, two-space indent,
one trailing newline — so a file kept in version control diffs line by line, and exporting the
same configuration twice (on SQLite or PostgreSQL) gives the same bytes.

The model is pydantic's: it validates a parsed file with the location of every error, which
`json_path` turns into the `$.groups[2].members[0]` a reader can find, and it writes the JSON
Schema the console serves, so the schema cannot drift from what the importer accepts.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from accounts.policy import locate
from accounts.policy.messages import Message, gettext_noop
from federation.iac import ProviderEntry, canonical_entries

FORMAT = "imsperm-iam/1"
ALL_RESOURCES = "all_resources"
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # a grant's end in the file: UTC, to the second


def expires_text(moment: datetime | None) -> str | None:
    """A grant's end as the file spells it ('2026-12-31T18:00:00Z'), None for no end."""
    return None if moment is None else moment.astimezone(UTC).strftime(EXPIRES_FORMAT)


def expires_moment(text: str | None) -> datetime | None:
    """The file's spelling of an end, read back (an aware UTC datetime)."""
    return None if text is None else datetime.strptime(text, EXPIRES_FORMAT).replace(tzinfo=UTC)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProjectEntry(_Entry):
    """A project of the region: the default one is named like the region, subprojects `<code>_<name>`."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(max_length=255)] = ""


class RegionEntry(_Entry):
    """A region and its projects (its default project included)."""

    code: Annotated[str, Field(min_length=1, max_length=32)]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    projects: list[ProjectEntry] = []


class UserEntry(_Entry):
    """A user, without password or MFA devices: users it creates have no password until one is set."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    email: str = ""
    first_name: Annotated[str, Field(max_length=150)] = ""
    last_name: Annotated[str, Field(max_length=150)] = ""
    is_active: bool = True
    is_staff: bool = False


class GroupEntry(_Entry):
    """A user group and its members, by user name (each must be in `users`)."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    description: Annotated[str, Field(max_length=255)] = ""
    members: list[str] = []


class PolicyEntry(_Entry):
    """A custom policy: its document passes the same validator as the policy editor."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    description: Annotated[str, Field(max_length=512)] = ""
    document: dict


class GrantEntry(_Entry):
    """A group × a role or policy (custom or system, by name) × a scope."""

    group: Annotated[str, Field(min_length=1)]
    policy: Annotated[str, Field(min_length=1)]
    scope: Literal["all_resources"] | Annotated[list[str], Field(min_length=1)] = Field(
        description='"all_resources", or the names of the projects it applies in')
    expires: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", description=(
        'When the grant ends, in UTC ("2026-12-31T18:00:00Z"); from then on it allows nothing. Absent: no end.'))

    @field_validator("expires")
    @classmethod
    def _a_real_moment(cls, value):
        if value is not None:
            try:
                expires_moment(value)
            except ValueError:
                raise ValueError("not a date and time (YYYY-MM-DDTHH:MM:SSZ, in UTC)") from None
        return value

    @property
    def end(self) -> datetime | None:
        return expires_moment(self.expires)


class Configuration(_Entry):
    """The whole IAM configuration of an account."""

    model_config = ConfigDict(extra="forbid", strict=True, title="imsperm IAM configuration")

    schema_: str = Field("", alias="$schema")
    format: Literal["imsperm-iam/1"]
    regions: list[RegionEntry] = []
    users: list[UserEntry] = []
    groups: list[GroupEntry] = []
    policies: list[PolicyEntry] = []
    grants: list[GrantEntry] = []
    identity_providers: list[ProviderEntry] = Field(default=[], description=(
        "OpenID Connect identity providers and their mapping rules, without client secrets (kept on apply)."))


class DocumentError(Exception):
    """Errors located in the file: a list of (JSON path, message)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the configuration file, from the model itself."""
    schema = Configuration.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "imsperm-iam-1", **schema}


def json_path(location) -> str:
    """pydantic's location ('groups', 2, 'members', 0) as `$.groups[2].members[0]`."""
    return locate.json_path(tuple(
        part for part in location
        # pydantic names the branch of a union it tried; the reader needs the place
        if isinstance(part, int) or not (part in ("str", "list[str]") or part.startswith(("list[", "literal[")))))


def parse_text(text: str) -> Configuration:
    """Parse and validate a file's text; DocumentError with located errors if it is not a configuration
    (text no database can store — NUL, a lone surrogate, in a key or a value at any depth —, numbers
    JSON cannot hold and deep nesting included, by the console's one JSON check, accounts.policy.locate)."""
    try:
        data = locate.loads(text)
    except locate.UnusableJSON as error:
        raise DocumentError([(locate.json_path(path), Message(gettext_noop("not usable JSON: %(problem)s"),
                                                              problem=message))
                             for path, message in error.problems]) from None
    return _validated(data)


def parse_data(data) -> Configuration:
    """Validate parsed data; DocumentError with located errors, unstorable text refused before the model
    reads it (each error names its place, and no message repeats more than a few words of the input)."""
    problems = locate.unstorable(data)
    if problems:
        raise DocumentError([(locate.json_path(path), message) for path, message in problems])
    return _validated(data)


def _validated(data) -> Configuration:
    try:
        return Configuration.model_validate(data)
    except ValidationError as error:
        errors = []
        for item in error.errors(include_url=False):
            place = json_path(item["loc"])
            if (place, item["msg"]) not in errors:
                errors.append((place, item["msg"]))
        raise DocumentError(errors) from None
    except RecursionError:
        raise DocumentError([("$", "the file is nested too deeply")]) from None


def canonical(configuration: Configuration) -> dict:
    """The configuration as plain data in canonical order (lists by name, documents' keys sorted)."""
    return {
        "$schema": configuration.schema_ or SCHEMA_HINT,
        "format": FORMAT,
        "regions": [
            {"code": r.code, "name": r.name,
             "projects": [p.model_dump() for p in sorted(r.projects, key=lambda p: p.name)]}
            for r in sorted(configuration.regions, key=lambda r: r.code)
        ],
        "users": [u.model_dump() for u in sorted(configuration.users, key=lambda u: u.username)],
        "groups": [
            {"name": g.name, "description": g.description, "members": sorted(g.members)}
            for g in sorted(configuration.groups, key=lambda g: g.name)
        ],
        "policies": [
            {"name": p.name, "description": p.description, "document": _sorted_keys(p.document)}
            for p in sorted(configuration.policies, key=lambda p: p.name)
        ],
        "grants": [
            {"group": g.group, "policy": g.policy,
             "scope": g.scope if isinstance(g.scope, str) else sorted(g.scope),
             **({"expires": g.expires} if g.expires is not None else {})}
            for g in sorted(configuration.grants, key=lambda g: (g.group, g.policy))
        ],
        # Only when there are some: a file without providers reads as it did before they existed.
        **({"identity_providers": canonical_entries(configuration.identity_providers)}
           if configuration.identity_providers else {}),
    }


# Written into every export so editors that read "$schema" can check a file; the console serves it.
SCHEMA_HINT = "/iam/config/schema.json"


def dumps(configuration: Configuration) -> str:
    """The canonical text of a configuration."""
    return json.dumps(canonical(configuration), indent=2, ensure_ascii=False) + "\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sorted_keys(value):
    return json.loads(json.dumps(value, sort_keys=True))
