"""Load the demo world (idempotent): regions, projects, personas, their grants, 60+ images."""

import uuid

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext_noop

from accounts import services
from accounts.models import Grant, Membership, Policy, Project, Region, User, UserGroup
from accounts.system_rows import sync_system_rows
from images.models import Image, ImageMember, ImageTag

DEMO_PASSWORD = "imsperm-demo"

REGIONS = [
    ("cn-north-4", "CN North-Beijing4", ["cn-north-4", "cn-north-4_dev"]),
    ("ap-southeast-1", "AP-Hong Kong", ["ap-southeast-1"]),
    ("eu-west-101", "EU-Dublin", ["eu-west-101"]),
]

DENY_IMAGE_DELETION = {
    "Version": "1.1",
    "Statement": [{"Effect": "Deny", "Action": ["ims:images:delete"]}],
}

# Asking for access is granted like any action: the image administrators, viewers and developers hold it
# (the server operators keep exactly their role; the newcomer holds nothing, so may not even ask).
ASK = ("IAM AccessRequestSelfService", "all")

# (username, group, [(policy name, scope: "all" or [project names])], group description)
PERSONAS = [
    ("admin", "admin", [], ""),
    ("iam-admin", "iam-admins", [("Security Administrator", "all")], "Manage IAM users, groups and policies"),
    ("ims-admin", "ims-admins", [("IMS FullAccess", "all"), ASK], "Full control of images everywhere"),
    ("viewer", "viewers", [("IMS ReadOnlyAccess", "all"), ASK], "Read-only access to images"),
    ("developer", "developers",
     [("IMS FullAccess", ["cn-north-4_dev"]), ("DenyImageDeletion", ["cn-north-4_dev"]), ASK],
     "Developers: everything but deletion, in the dev project"),
    ("north-ops", "north-ops", [("Server Administrator", ["cn-north-4"])], "Server operators in CN North-Beijing4"),
    ("newcomer", None, [], ""),
]

# Who each demo login is and what it can do: printed in English by seed_demo (so by `make run`) and shown
# on the sign-in page while IMSPERM_DEMO_LOGINS is on (the default with DJANGO_DEBUG=1), translated there
# (gettext_noop marks the words for makemessages; logins, groups and policy names stay verbatim).
DEMO_LOGINS = (
    ("admin", gettext_noop("account administrator (built-in admin group)"),
     gettext_noop("everything, IAM included; Django admin")),
    ("iam-admin", gettext_noop("IAM administrator (Security Administrator)"),
     gettext_noop("users, groups, policies, grants, projects; no images")),
    ("ims-admin", gettext_noop("image administrator (IMS FullAccess, all projects)"),
     gettext_noop("every image operation in every project")),
    ("viewer", gettext_noop("read-only (IMS ReadOnlyAccess, all projects)"),
     gettext_noop("browse and open images everywhere; ask for more")),
    ("developer", gettext_noop("developer (IMS FullAccess + DenyImageDeletion in cn-north-4_dev)"),
     gettext_noop("everything but Delete, in cn-north-4_dev only")),
    ("north-ops", gettext_noop("server operator (Server Administrator in cn-north-4)"),
     gettext_noop("every image operation in cn-north-4 only (the role brings IMS and Tenant Administrator along)")),
    ("newcomer", gettext_noop("new user in no group"),
     gettext_noop("nothing yet, not even ask for access (My permissions says so)")),
)

PLATFORMS = [
    ("Linux", "Ubuntu", "Ubuntu 22.04 server 64bit"),
    ("Linux", "CentOS", "CentOS 7.9 64bit"),
    ("Linux", "Debian", "Debian 12.0 64bit"),
    ("Linux", "EulerOS", "EulerOS 2.9 64bit"),
    ("Windows", "Windows", "Windows Server 2022 Datacenter 64bit"),
    ("Other", "Other", "Other Linux (64 bit)"),
]
STATUSES = ["active", "active", "active", "queued", "saving", "killed", "deleted"]
FORMATS = ["zvhd2", "qcow2", "vhd", "raw", "zvhd", "iso"]


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"imsperm-demo/{name}")


def image_specs():
    """A deterministic catalogue of demo images covering every type, status, OS and architecture."""
    specs = []
    for i, (os_type, platform, version) in enumerate(PLATFORMS):
        for arch in ("x86", "arm"):
            specs.append({"name": f"{platform}-{arch}-public", "image_type": "gold", "project": "cn-north-4",
                          "os_type": os_type, "platform": platform, "os_version": version, "architecture": arch,
                          "status": "active", "protected": True, "disk_format": "zvhd2", "min_disk": 40 + i,
                          "size": (2 + i) * 1024 * 1024 * 1024 + (512 if arch == "arm" else 0) * 1024 * 1024})
    for os_type, platform, version in PLATFORMS[:3]:
        # Capitalised like the public names, so that every name of the Public tab sorts as people
        # read it (the id stays the one of its first, lower-case name: seeding again updates it).
        specs.append({"name": f"Market-{platform}-LAMP", "id_name": f"market-{platform.lower()}-lamp",
                      "image_type": "market", "project": "cn-north-4",
                      "os_type": os_type, "platform": platform, "os_version": version, "architecture": "x86",
                      "status": "active", "protected": False, "disk_format": "zvhd2", "min_disk": 40,
                      "size": 6 * 1024 * 1024 * 1024})
    projects = ["cn-north-4", "cn-north-4_dev", "ap-southeast-1", "eu-west-101"]
    for p_index, project in enumerate(projects):
        for j in range(12):
            os_type, platform, version = PLATFORMS[(j + p_index) % len(PLATFORMS)]
            status = STATUSES[(j + p_index) % len(STATUSES)]
            disk_format = FORMATS[(j + 2 * p_index) % len(FORMATS)]
            kind = ("system", "data", "whole")[j % 3]
            env = ("prod", "dev", None)[(j + p_index) % 3]
            specs.append({
                "name": f"{project.replace('_', '-')}-{platform.lower()}-{kind}-{j:02d}",
                "image_type": "private", "project": project, "os_type": os_type, "platform": platform,
                "os_version": version, "architecture": ("x86", "arm")[j % 2], "status": status, "kind": kind,
                "protected": j == 4, "disk_format": disk_format, "min_disk": 40 + j, "min_ram": 1024 * (1 + j % 4),
                "encryption_key_id": f"kms-{project}-{j}" if j in (2, 7) else "",
                "size": 0 if status in ("queued", "killed") else (1 + j) * 512 * 1024 * 1024,
                "tags": {"env": env, "team": f"team-{p_index}"} if env else {"team": f"team-{p_index}"},
            })
    return specs


# (owner image name, consumer project, status)
SHARES = [
    ("cn-north-4-ubuntu-system-00", "cn-north-4_dev", "accepted"),
    ("cn-north-4-eulerOS-system-03".lower(), "cn-north-4_dev", "pending"),
    ("cn-north-4-centos-data-01", "ap-southeast-1", "pending"),
    ("ap-southeast-1-debian-system-00".lower(), "cn-north-4", "accepted"),
    ("eu-west-101-eulerOS-system-00".lower(), "cn-north-4", "pending"),
    ("cn-north-4-dev-debian-data-01", "cn-north-4", "accepted"),
]


class Command(BaseCommand):
    help = "Load demo regions, projects, users (password imsperm-demo), grants and images. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password of every demo user")

    @transaction.atomic
    def handle(self, *args, password, **options):
        sync_system_rows(apps)
        projects = self._regions()
        self._personas(password, projects)
        self._images(projects)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {Image.objects.count()} images, {User.objects.count()} users. "
            f"Sign in as admin, iam-admin, ims-admin, viewer, developer, north-ops or newcomer "
            f"(password {password})."
        ))
        width = max(len(login) for login, _, _ in DEMO_LOGINS)
        self.stdout.write(f"\n  {'login':<{width}}  who: what they can do")
        for login, who, can in DEMO_LOGINS:
            self.stdout.write(f"  {login:<{width}}  {who}: {can}")

    def _regions(self):
        projects = {}
        for code, name, project_names in REGIONS:
            region, _ = Region.objects.update_or_create(code=code, defaults={"name": name})
            for project_name in project_names:
                projects[project_name], _ = Project.objects.update_or_create(
                    name=project_name, defaults={"region": region,
                                                 "description": "default project" if project_name == code
                                                 else "development subproject"})
        return projects

    def _personas(self, password, projects):
        if not Policy.objects.filter(name="DenyImageDeletion").exists():
            services.policy_create(actor=None, name="DenyImageDeletion", document=DENY_IMAGE_DELETION,
                                   description="Developers may not delete images (the seed's example).")
        for username, group_name, grants, description in PERSONAS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user, _ = services.user_create(actor=None, username=username, password=password,
                                               is_staff=username == "admin")
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            if username == "admin" and not user.is_superuser:
                user.is_superuser = user.is_staff = True
                user.save(update_fields=["is_superuser", "is_staff"])
            if group_name is None:
                continue
            group = UserGroup.objects.filter(name=group_name).first() or services.group_create(
                actor=None, name=group_name, description=description)
            if not Membership.objects.filter(user=user, group=group).exists():
                services.group_add_member(actor=None, group=group, user=user)
            for policy_name, scope in grants:
                policy = Policy.objects.get(name=policy_name)
                if Grant.objects.filter(group=group, policy=policy).exists():
                    continue
                services.grant_attach(actor=None, group=group, policies=[policy], all_resources=scope == "all",
                                      projects=[] if scope == "all" else [projects[p] for p in scope])

    def _images(self, projects):
        for spec in image_specs():
            spec = dict(spec)
            tags = spec.pop("tags", {})
            spec["project"] = projects[spec["project"]]
            image, _ = Image.objects.update_or_create(id=demo_id(spec.pop("id_name", spec["name"])), defaults=spec)
            for key, value in tags.items():
                ImageTag.objects.update_or_create(image=image, key=key, defaults={"value": value})
        for name, project_name, status in SHARES:
            image = Image.objects.get(id=demo_id(name))
            ImageMember.objects.update_or_create(image=image, project=projects[project_name],
                                                 defaults={"status": status})
