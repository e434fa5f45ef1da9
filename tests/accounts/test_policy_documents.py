"""Bad policy documents are located errors, never exceptions, and nothing is saved."""

import json

import pytest

from accounts import services
from accounts.models import AuditEvent, Policy

GOOD_STATEMENT = {"Effect": "Allow", "Action": ["ims:images:list"]}

BAD_DOCUMENTS = [
    ("malformed JSON", '{"Version": "1.1",\n "Statement": [\n', ""),
    ("unknown top-level key", json.dumps({"Version": "1.1", "Statement": [GOOD_STATEMENT], "Id": "x"}), "Id"),
    ("unknown statement key",
     json.dumps({"Version": "1.1", "Statement": [{**GOOD_STATEMENT, "Sid": "x"}]}), "Statement[0].Sid"),
    ("wrong Effect case", json.dumps({"Version": "1.1", "Statement": [{**GOOD_STATEMENT, "Effect": "allow"}]}),
     "Statement[0].Effect"),
    ("unknown service",
     json.dumps({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["abc:images:list"]}]}),
     "Statement[0].Action[0]"),
    ("pattern matching no action",
     json.dumps({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:delet"]}]}),
     "Statement[0].Action[0]"),
    ("mistyped condition value", json.dumps({"Version": "1.1", "Statement": [{**GOOD_STATEMENT, "Condition": {
        "DateLessThan": {"g:CurrentTime": [42]}}}]}), "Statement[0].Condition.DateLessThan"),
    ("oversized document", json.dumps({"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:list"] * 700}]}), ""),
]


@pytest.mark.parametrize(("problem", "text", "path"), BAD_DOCUMENTS, ids=[b[0] for b in BAD_DOCUMENTS])
def test_a_bad_document_is_refused_with_a_located_error_and_nothing_is_saved(demo, problem, text, path):
    before = (Policy.objects.count(), AuditEvent.objects.count())
    with pytest.raises(services.PolicyDocumentError) as refused:
        services.policy_create(actor=None, name=f"bad {problem}", document=text)
    errors = [f for f in refused.value.findings if f.tier == "error"]
    assert errors, problem
    assert any(f.path.startswith(path) for f in errors), [f.path for f in errors]
    assert all(f.line is not None and f.column is not None for f in errors)
    assert (Policy.objects.count(), AuditEvent.objects.count()) == before
