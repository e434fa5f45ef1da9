"""System-defined rows (SPEC section 4): the admin group and the system roles and policies.

Data migrations call `sync_system_rows` with the historical app registry, so the documents in
accounts.policy.catalogue stay the single source; a change to them ships with a new migration
that calls this again.
"""

import uuid

from accounts.policy import SYSTEM_DOCUMENTS

ADMIN_GROUP_DESCRIPTION = "Built-in administrators: allowed everything, including IAM."


def sync_system_rows(apps, schema_editor=None) -> None:
    UserGroup = apps.get_model("accounts", "UserGroup")
    Policy = apps.get_model("accounts", "Policy")
    AuthorizationStamp = apps.get_model("accounts", "AuthorizationStamp")
    UserGroup.objects.update_or_create(
        name="admin", defaults={"is_builtin": True, "description": ADMIN_GROUP_DESCRIPTION}
    )
    by_name = {}
    for entry in SYSTEM_DOCUMENTS:
        policy, created = Policy.objects.get_or_create(
            name=entry["name"],
            defaults={"kind": entry["kind"], "is_system": True, "description": entry["description"],
                      "document": entry["document"]},
        )
        if not created and (policy.document != entry["document"] or policy.description != entry["description"]):
            policy.kind, policy.is_system = entry["kind"], True
            policy.description, policy.document = entry["description"], entry["document"]
            policy.revision += 1
            policy.save()
        by_name[entry["name"]] = policy
    for entry in SYSTEM_DOCUMENTS:
        by_name[entry["name"]].depends_on.set([by_name[name] for name in entry["depends_on"]])
    AuthorizationStamp.objects.update_or_create(pk=1, defaults={"value": uuid.uuid4().hex})
