"""The editor's visual switch, the validator, the save and the simulator answer hostile JSON with a
located message (the issue's cases: an escaped lone surrogate, 100k-deep nesting, 5,000 digits)."""

import pytest

from accounts.models import Policy

pytestmark = pytest.mark.usefixtures("demo")

CASES = {
    "surrogate": ('{"\\ud800": 1}', "lone surrogate (\\ud800)"),
    "deep": ("[" * 20_000 + "]" * 20_000, "Nested too deeply"),
    "5000 digits": ('{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"], '
                    '"Condition": {"NumberEquals": {"g:MFAAge": ' + "9" * 5000 + "}}}]}", "Number too long"),
}


def test_a_hundred_thousand_levels_are_refused_unread(as_user):
    """The issue's 100k-deep nesting is past the 64 KiB a policy text may have: refused before parsing."""
    text = "[" * 100_000 + "]" * 100_000
    findings = as_user("admin").post("/iam/policies/validate/", {"mode": "json", "document": text})
    assert findings.status_code == 200 and "too long to read" in findings.content.decode()
    switch = as_user("admin").post("/iam/policies/editor/", {"mode": "json", "to": "visual", "document": text})
    assert switch.status_code == 200 and "Nested too deeply" in switch.content.decode()


@pytest.mark.parametrize("case", CASES)
def test_the_visual_switch_stays_in_json_and_says_where(as_user, case):
    text, message = CASES[case]
    response = as_user("admin").post("/iam/policies/editor/", {"mode": "json", "to": "visual", "document": text})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-mode="json"' in html and "The JSON is not valid yet (line 1" in html and message in html


@pytest.mark.parametrize("case", CASES)
def test_the_validator_and_a_save_report_it_and_save_nothing(as_user, case):
    text, message = CASES[case]
    client = as_user("admin")
    findings = client.post("/iam/policies/validate/", {"mode": "json", "document": text})
    assert findings.status_code == 200 and message in findings.content.decode()
    count = Policy.objects.count()
    saved = client.post("/iam/policies/new/", {"name": "hostile", "mode": "json", "document": text})
    assert saved.status_code == 422 and message in saved.content.decode()
    admin = client.post("/admin/accounts/policy/add/", {"name": "hostile", "description": "", "document": text})
    assert admin.status_code == 200 and message in admin.content.decode()
    assert Policy.objects.count() == count


@pytest.mark.parametrize("case", CASES)
def test_the_simulator_refuses_the_pasted_document(as_user, case):
    text, message = CASES[case]
    response = as_user("admin").get("/iam/simulator/", {"subject": "document", "document": text,
                                                        "actions": "ims:images:list", "project": "cn-north-4"})
    assert response.status_code == 422 and message in response.content.decode()
