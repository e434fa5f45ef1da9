"""The policy simulator and the effective-permissions grid, with hand-written answers from the demo world.

developer: IMS FullAccess and DenyImageDeletion, both on cn-north-4_dev only (group developers).
north-ops: Server Administrator (+ IMS Administrator, Tenant Administrator) on cn-north-4.
"""

import json
import re

import pytest

from tests.deadline import deadline

TAG_POLICY = ('{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:delete"], '
              '"Condition": {"StringEquals": {"ims:ResourceTag/env": ["dev"]}}}]}')


def _decisions(html: str) -> dict[str, str]:
    return dict(re.findall(r'class="card decision [^"]*" data-action="([^"]+)" data-outcome="([^"]+)"', html))


def _simulate(client, **params):
    return client.get("/iam/simulator/", params)


def test_developer_deletion_in_dev_is_denied_explicitly_by_deny_image_deletion(as_user, demo):
    response = _simulate(as_user("iam-admin"), subject="user", user="developer",
                         actions=["ims:images:delete", "ims:images:list"], project="cn-north-4_dev")
    html = response.content.decode()
    assert response.status_code == 200
    assert _decisions(html) == {"ims:images:delete": "explicit_deny", "ims:images:list": "allow"}
    delete = html.split('data-action="ims:images:delete"')[1].split("</article>")[0]
    assert 'data-policy="DenyImageDeletion" data-statement="0"' in delete
    assert "<td>developers</td>" in delete and "cn-north-4_dev" in delete
    listing = html.split('data-action="ims:images:list"')[1].split("</article>")[0]
    assert 'data-policy="IMS FullAccess" data-statement="0"' in listing


def test_outside_the_granted_project_it_is_an_implicit_deny(as_user, demo):
    html = _simulate(as_user("admin"), subject="user", user="developer", actions=["ims:images:list"],
                     project="ap-southeast-1").content.decode()
    assert _decisions(html) == {"ims:images:list": "implicit_deny"}
    assert "no grant allows ims:images:list (implicit deny)" in html


def test_iam_actions_are_global(as_user, demo):
    html = _simulate(as_user("admin"), subject="user", user="iam-admin",
                     actions=["iam:users:createUser"]).content.decode()
    assert _decisions(html) == {"iam:users:createUser": "allow"}
    assert 'data-policy="Security Administrator"' in html


def test_a_pasted_policy_reports_the_keys_the_request_lacked(as_user, demo):
    client = as_user("iam-admin")
    without = _simulate(client, subject="document", document=TAG_POLICY, actions=["ims:images:delete"],
                        project="cn-north-4").content.decode()
    assert _decisions(without) == {"ims:images:delete": "implicit_deny"}
    assert re.search(r"The request lacked condition key <code>ims:ResourceTag/env</code>", without)
    with_tag = _simulate(client, subject="document", document=TAG_POLICY, actions=["ims:images:delete"],
                         project="cn-north-4", context="ims:ResourceTag/env=dev").content.decode()
    assert _decisions(with_tag) == {"ims:images:delete": "allow"}
    assert 'data-policy="pasted policy" data-statement="0"' in with_tag
    assert "lacked" not in with_tag
    other = _simulate(client, subject="document", document=TAG_POLICY, actions=["ims:images:delete"],
                      project="cn-north-4", context="ims:ResourceTag/env=prod").content.decode()
    assert _decisions(other) == {"ims:images:delete": "implicit_deny"}


def test_a_broken_pasted_policy_shows_its_findings_and_decides_nothing(as_user, demo):
    response = _simulate(as_user("iam-admin"), subject="document", actions=["ims:images:list"], project="cn-north-4",
                         document='{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:imgs:list"]}]}')
    html = response.content.decode()
    assert response.status_code == 422
    assert "The document has errors" in html and 'matches no IMS action' in html
    assert _decisions(html) == {}


@pytest.mark.parametrize(("params", "message"), [
    ({"subject": "user", "actions": ["ims:images:list"], "project": "cn-north-4"},
     "Choose the user whose permissions to simulate."),
    ({"subject": "user", "user": "developer", "actions": ["ims:images:list"]},
     "Choose the project of the request: ims:images:list is a project-level action."),
    ({"subject": "user", "user": "developer", "actions": ["ims:images:list"], "project": "cn-north-4",
      "context": "g:Colour=blue"}, "Line 1: &quot;g:Colour&quot; is not a condition key the console supplies."),
    ({"subject": "user", "user": "developer", "actions": ["ims:images:fly"], "project": "cn-north-4"},
     "Select a valid choice. ims:images:fly is not one of the available choices."),
    ({"subject": "user", "user": "developer", "actions": ["ims:images:list"], "project": "cn-north-4",
      "context": "g:UserName=dev\nims:ResourceTag/env=" + "p" * 257},
     "Line 2: a value has at most 256 characters, not 257; the console never supplies a longer one."),
])
def test_bad_requests_are_explained_on_the_form(as_user, demo, params, message):
    response = _simulate(as_user("iam-admin"), **params)
    assert response.status_code == 422
    assert message in response.content.decode()


def _grid(html: str) -> dict[tuple[str, str], str]:
    cells = {}
    for row in re.findall(r'<tr data-action="([^"]+)">(.*?)</tr>', html, re.S):
        for project, outcome in re.findall(r'data-project="([^"]+)" data-outcome="([^"]+)"', row[1]):
            cells[(row[0], project)] = outcome
    return cells


def test_effective_grid_of_developer(as_user, demo):
    html = as_user("iam-admin").get("/iam/simulator/effective/?user=developer").content.decode()
    grid = _grid(html)
    assert len(grid) == 13 * 4  # every IMS action in every project
    assert grid[("ims:images:delete", "cn-north-4_dev")] == "explicit_deny"
    assert grid[("ims:images:list", "cn-north-4_dev")] == "allow"
    assert grid[("ims:images:share", "cn-north-4_dev")] == "allow"
    assert grid[("ims:images:list", "cn-north-4")] == "implicit_deny"
    assert grid[("ims:images:delete", "eu-west-101")] == "implicit_deny"
    assert "Denied in cn-north-4_dev explicitly: Deny in DenyImageDeletion Statement 1" in html


def test_effective_grid_of_north_ops(as_user, demo):
    grid = _grid(as_user("admin").get("/iam/simulator/effective/?user=north-ops").content.decode())
    assert grid[("ims:images:export", "cn-north-4")] == "allow"  # via IMS Administrator, a dependency
    assert grid[("ims:images:export", "cn-north-4_dev")] == "implicit_deny"
    assert grid[("ims:quotas:get", "ap-southeast-1")] == "implicit_deny"


def test_effective_grid_of_admin_and_newcomer(as_user, demo):
    client = as_user("iam-admin")
    admin = client.get("/iam/simulator/effective/?user=admin").content.decode()
    assert set(_grid(admin).values()) == {"allow"} and "built-in <strong>admin</strong> group" in admin
    newcomer = client.get("/iam/simulator/effective/?user=newcomer").content.decode()
    assert set(_grid(newcomer).values()) == {"implicit_deny"} and "every request is denied" in newcomer


def test_effective_page_without_a_user_offers_the_picker(as_user, demo):
    html = as_user("iam-admin").get("/iam/simulator/effective/").content.decode()
    assert '<option value="developer">developer</option>' in html and "effective-grid" not in html


def test_a_pasted_policy_of_many_wildcards_is_decided_at_once(as_user, demo):
    """Wildcards that once backtracked for hours (issue 7): 30 stars in an action, 40 in a StringMatch."""
    document = json.dumps({"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:" + "*" * 30 + "s:list", "ims:" + "*" * 30 + "s:*" + "*" * 30 + "e"]},
        {"Effect": "Deny", "Action": ["ims:images:*"],
         "Condition": {"StringMatch": {"ims:ResourceTag/env": ["*p" * 40 + "*"]}}}]})
    with deadline(10, "the simulator"):
        response = _simulate(as_user("iam-admin"), subject="document", document=document, project="cn-north-4",
                             actions=["ims:images:list", "ims:images:update", "ims:images:get", "ims:quotas:get"],
                             context="ims:ResourceTag/env=" + "p" * 39 + "x" * 200)
    assert response.status_code == 200
    assert _decisions(response.content.decode()) == {
        "ims:images:list": "allow", "ims:images:update": "allow", "ims:images:get": "implicit_deny",
        "ims:quotas:get": "implicit_deny"}
    with deadline(10, "the simulator"):
        denied = _simulate(as_user("iam-admin"), subject="document", document=document, project="cn-north-4",
                           actions=["ims:images:list"], context="ims:ResourceTag/env=" + "p" * 40)
    assert _decisions(denied.content.decode()) == {"ims:images:list": "explicit_deny"}
