"""One place records a refusal (issue 22): accounts.enforcement.record_refusal, which every door calls
(pages, services, Django admin, import, the API, MFA, sign-in). A denied audit event written by hand
anywhere else would be a second way, with its own fields and its own bugs."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent, User
from api import services as api_services

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "api", "images", "federation", "imsperm")
# The recorder itself (enforcement) and the audit writer it calls (audit.record decides repeats on it).
ALLOWED = {"accounts/enforcement.py", "accounts/audit.py"}
# Written by hand still, in files other engineers were editing when the recorder came: each is a
# one-line change to record_refusal (see the closing note); remove the file here once done.
PENDING: set[str] = set()
HAND_WRITTEN = re.compile(r"Outcome\.DENIED|outcome\s*=\s*[\"']denied[\"']")


def hand_written_refusals() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if "/migrations/" in name or name in ALLOWED | PENDING:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if HAND_WRITTEN.search(line):
                    found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_no_denied_audit_event_is_written_outside_the_one_recorder():
    assert hand_written_refusals() == []


def test_the_pending_list_holds_only_files_that_still_need_it():
    still = {name for name in PENDING
             if (ROOT / name).exists() and HAND_WRITTEN.search((ROOT / name).read_text())}
    assert still == PENDING, f"no longer writes a denied event by hand: remove from PENDING {PENDING - still}"


@pytest.mark.usefixtures("demo")
def test_revoking_someone_elses_api_token_is_refused_and_audited():
    owner, other = User.objects.get(username="viewer"), User.objects.get(username="developer")
    token, _ = api_services.api_token_create(actor=owner, name="owners-token")
    with pytest.raises(PermissionDenied, match="only your own"):
        api_services.api_token_revoke(actor=other, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None
    event = AuditEvent.objects.get(action="apitoken:revoke", outcome=AuditEvent.Outcome.DENIED)
    assert (event.actor, event.target_type, event.target_id) == (other, "apitoken", str(token.pk))
    assert event.message == "You can revoke only your own API tokens."
