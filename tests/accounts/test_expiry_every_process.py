"""A grant that ends stops allowing at the next request of every worker (two real gunicorn workers),
with no job run and no stamp bump (issue 21). The clock cannot be frozen in other processes, so the
grant ends a few seconds after it was attached, once both workers have cached it."""

import json
import time

import pytest

from .test_every_process import Browser, cells_until_both_workers_answered, manage, two_workers  # noqa: F401

pytestmark = pytest.mark.deployment  # real gunicorn workers: out of the fast lane
ATTACH_FOR_A_FEW_SECONDS = (
    "import datetime, json; from django.utils import timezone; from accounts import services, authz; "
    "from accounts.models import *; "
    "end = timezone.now() + datetime.timedelta(seconds={seconds}); "
    "services.grant_attach(actor=None, group=UserGroup.objects.get(name='viewers'), "
    "policies=[Policy.objects.get(name='IMS FullAccess')], all_resources=False, "
    "projects=[Project.objects.get(name='eu-west-101')], expires=end); "
    "print(json.dumps({{'end': Grant.objects.get(group__name='viewers', policy__name='IMS FullAccess')"
    ".expires.timestamp(), 'stamp': authz.current_stamp()}}))")
STATE = ("import json; from accounts import authz; from accounts.models import Grant; "
         "print(json.dumps({'stamp': authz.current_stamp(), 'grants': Grant.objects.filter("
         "group__name='viewers', policy__name='IMS FullAccess').count()}))")


def last_json_line(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_a_grant_ending_between_two_requests_is_refused_by_every_worker_with_no_stamp_bump(two_workers):  # noqa: F811
    base, env, access_log = two_workers
    viewer = Browser(base)
    viewer.sign_in("viewer")
    assert set(cells_until_both_workers_answered(viewer, access_log)) == {"false"}
    attached = last_json_line(manage(env, "shell", "-c", ATTACH_FOR_A_FEW_SECONDS.format(seconds=12)).stdout)
    # Both workers cache the grant (compiled with its end) while it lasts...
    assert set(cells_until_both_workers_answered(viewer, access_log)) == {"true"}
    assert time.time() < attached["end"], "the machine was too slow to see the grant before its end"
    time.sleep(max(0.0, attached["end"] - time.time()) + 0.5)
    # ...and after its end every answer of either worker refuses, though nothing ran and nothing changed.
    assert set(cells_until_both_workers_answered(viewer, access_log)) == {"false"}
    state = last_json_line(manage(env, "shell", "-c", STATE).stdout)
    assert state == {"stamp": attached["stamp"], "grants": 1}
