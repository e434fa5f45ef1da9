"""The catalogue, the system documents, and the seed's common-operations table."""

import re

import pytest

from accounts.policy import (
    ACTION_NAMES,
    ACTIONS,
    IAM_ACTIONS,
    IMS_ACTIONS,
    SERVICES,
    SYSTEM_DOCUMENTS,
    compile_document,
    evaluate,
    get_action,
    lookup_condition_key,
    validate_document,
)
from accounts.policy.catalogue import IMAGE_KEY_ACTIONS

SYSTEM = {entry["name"]: entry for entry in SYSTEM_DOCUMENTS}


def decide(name, action):
    return evaluate([(name, compile_document(SYSTEM[name]["document"]))], action).allowed


def test_ims_actions_are_exactly_the_documented_ones():
    assert [action.name for action in IMS_ACTIONS] == [
        "ims:images:list",
        "ims:images:get",
        "ims:images:create",
        "ims:serverImages:create",
        "ims:dataImages:create",
        "ims:wholeImages:create",
        "ims:images:update",
        "ims:images:delete",
        "ims:images:upload",
        "ims:images:export",
        "ims:images:copy",
        "ims:images:share",
        "ims:quotas:get",
    ]


def test_iam_actions_are_exactly_the_console_management_ones():
    expected = {
        "users": ["listUsers", "getUser", "createUser", "updateUser", "deleteUser"],
        "groups": [
            "listGroups",
            "getGroup",
            "createGroup",
            "updateGroup",
            "deleteGroup",
            "addUserToGroup",
            "removeUserFromGroup",
        ],
        "roles": ["listRoles", "getRole", "createRole", "updateRole", "deleteRole"],
        "permissions": ["listPermissions", "grantPermission", "revokePermission"],
        "projects": ["listProjects", "createProject", "updateProject"],
        "audit": ["listEvents"],
        "identityProviders": ["list", "get", "create", "update", "delete"],
        "accessRequests": ["create", "list", "approve", "deny"],
    }
    names = [f"iam:{kind}:{op}" for kind, ops in expected.items() for op in ops]
    assert [action.name for action in IAM_ACTIONS] == names


def test_every_action_is_well_formed_labelled_and_unique():
    assert len(ACTION_NAMES) == len(ACTIONS) == len(IMS_ACTIONS) + len(IAM_ACTIONS)
    for action in ACTIONS:
        assert re.fullmatch(r"[a-z]+:[A-Za-z]+:[A-Za-z]+", action.name)
        assert action.name == f"{action.service}:{action.resource_type}:{action.operation}"
        assert action.label and action.description
        assert SERVICES[action.service].has_catalogue


def test_get_action_finds_catalogued_actions_and_refuses_others():
    delete = get_action("ims:images:delete")
    assert (delete.service, delete.resource_type, delete.operation) == ("ims", "images", "delete")
    assert delete.label == "Delete images"
    with pytest.raises(KeyError):
        get_action("ims:images:delet")


def test_services_know_which_are_global_and_which_have_a_catalogue():
    assert set(SERVICES) == {"ims", "iam", "ecs", "evs", "bms", "obs", "kms"}
    assert SERVICES["iam"].is_global and SERVICES["iam"].has_catalogue
    assert not SERVICES["ims"].is_global and SERVICES["ims"].has_catalogue
    for name in ("ecs", "evs", "bms", "obs", "kms"):
        assert not SERVICES[name].is_global and not SERVICES[name].has_catalogue


@pytest.mark.parametrize(
    ("written", "name", "key_type"),
    [
        ("g:CurrentTime", "g:CurrentTime", "date"),
        ("G:CURRENTTIME", "g:CurrentTime", "date"),
        ("g:mfapresent", "g:MFAPresent", "bool"),
        ("g:MFAAge", "g:MFAAge", "number"),
        ("g:SourceIp", "g:SourceIp", "ip"),
        ("g:RequestedRegion", "g:RequestedRegion", "string"),
        ("ims:imagetype", "ims:ImageType", "string"),
        ("ims:ResourceTag/env", "ims:ResourceTag/env", "string"),
        ("IMS:RESOURCETAG/Owner", "ims:ResourceTag/Owner", "string"),
    ],
)
def test_condition_keys_are_found_whatever_their_case(written, name, key_type):
    key = lookup_condition_key(written)
    assert (key.name, key.type) == (name, key_type)


@pytest.mark.parametrize("written", ["g:Nope", "ims:ResourceTag/", "ims:ResourceTag", "ImageType", ""])
def test_undeclared_condition_keys_are_not_found(written):
    assert lookup_condition_key(written) is None


def test_image_keys_are_supplied_only_by_actions_on_one_image():
    assert {
        "ims:images:get",
        "ims:images:update",
        "ims:images:delete",
        "ims:images:upload",
        "ims:images:export",
        "ims:images:copy",
        "ims:images:share",
    } == IMAGE_KEY_ACTIONS


def test_the_nine_system_documents_exist_with_their_kinds_and_dependencies():
    assert {name: entry["kind"] for name, entry in SYSTEM.items()} == {
        "Tenant Administrator": "role",
        "Tenant Guest": "role",
        "IMS Administrator": "role",
        "Server Administrator": "role",
        "Security Administrator": "role",
        "IMS FullAccess": "policy",
        "IMS ReadOnlyAccess": "policy",
        "FullAccess": "policy",
        "IAM AccessRequestSelfService": "policy",
    }
    assert SYSTEM["IMS Administrator"]["depends_on"] == ["Tenant Administrator"]
    assert SYSTEM["Server Administrator"]["depends_on"] == ["IMS Administrator"]
    for entry in SYSTEM_DOCUMENTS:
        assert entry["description"]
        assert entry["document"]["Version"] == ("1.0" if entry["kind"] == "role" else "1.1")
        assert all(dependency in SYSTEM for dependency in entry["depends_on"])


@pytest.mark.parametrize("entry", SYSTEM_DOCUMENTS, ids=lambda entry: entry["name"])
def test_system_documents_validate_cleanly_and_never_deny(entry):
    result = validate_document(entry["document"], system=True)
    assert result.ok, result.errors
    assert not result.warnings
    for statement in entry["document"]["Statement"]:
        assert statement["Effect"] == "Allow"
        assert not any(pattern.startswith("*") for pattern in statement["Action"])


def test_tenant_guest_reads_every_non_iam_service_and_changes_nothing():
    assert SYSTEM["Tenant Guest"]["document"]["Statement"][0]["Action"] == [
        f"{service}:*:{op}*" for service in ("ims", "ecs", "evs", "bms", "obs", "kms") for op in ("get", "list")
    ]
    assert decide("Tenant Guest", "ims:images:list")
    assert decide("Tenant Guest", "ims:quotas:get")
    assert decide("Tenant Guest", "obs:buckets:listBuckets")
    assert not decide("Tenant Guest", "ims:images:delete")
    assert not decide("Tenant Guest", "iam:users:listUsers")


def test_full_access_and_tenant_administrator_cover_every_service_but_iam():
    for name in ("FullAccess", "Tenant Administrator"):
        assert all(decide(name, action.name) for action in IMS_ACTIONS)
        assert decide(name, "kms:keys:create")
        assert not any(decide(name, action.name) for action in IAM_ACTIONS)


def test_security_administrator_manages_iam_only():
    assert all(decide("Security Administrator", action.name) for action in IAM_ACTIONS)
    assert not any(decide("Security Administrator", action.name) for action in IMS_ACTIONS)


def test_server_administrator_may_create_delete_query_modify_and_upload_but_not_share():
    allowed = {
        "ims:serverImages:create",
        "ims:images:create",
        "ims:images:delete",
        "ims:images:get",
        "ims:images:list",
        "ims:images:update",
        "ims:images:upload",
    }
    for action in IMS_ACTIONS:
        assert decide("Server Administrator", action.name) == (action.name in allowed), action.name


# The seed's Table 3, written out by hand: operation -> (FullAccess, ReadOnlyAccess, Administrator).
COMMON_OPERATIONS = [
    ("ims:serverImages:create", True, False, True),
    ("ims:images:delete", True, False, True),
    ("ims:images:list", True, True, True),
    ("ims:images:get", True, True, True),
    ("ims:images:update", True, False, True),
]


@pytest.mark.parametrize(("action", "full", "read_only", "administrator"), COMMON_OPERATIONS)
def test_common_operations_table_of_the_seed_holds(action, full, read_only, administrator):
    assert decide("IMS FullAccess", action) is full
    assert decide("IMS ReadOnlyAccess", action) is read_only
    assert decide("IMS Administrator", action) is administrator


def test_ims_administrator_also_reads_servers_and_volumes_as_documented():
    assert SYSTEM["IMS Administrator"]["document"]["Statement"][0]["Action"] == [
        "ims:*:*",
        "ecs:*:list",
        "ecs:*:get",
        "evs:*:get",
    ]
    assert decide("IMS Administrator", "ecs:servers:get")
    assert not decide("IMS Administrator", "ecs:servers:delete")
