"""The load test's verdict (loadtest/world.py verify) on small synthetic journals: each check finds the
fault it is there for, and a journal that matches the database passes. No servers: the world is
prepared in the test database, the journal is written by hand."""

import json

import pytest

from accounts.models import AuditEvent, Grant, User
from images.models import Image
from loadtest import world as load_world

ALL_ZERO = dict.fromkeys(("lost_writes", "refused_but_done", "stale_allows", "stale_denies", "audit_writes",
                          "audit_refusals"), 0)


@pytest.fixture
def the_world(demo, tmp_path):
    path = tmp_path / "world.json"
    load_world.prepare(str(path), users=2)
    return json.loads(path.read_text()) | {"path": str(path)}


def verify(the_world, tmp_path, *journal):
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(json.dumps(entry) + "\n" for entry in journal))
    return load_world.verify(the_world["path"], str(path))


def entry(persona, user, status, t0, t1=None, **journal):
    return {"persona": persona, "user": user, "status": status, "t0": t0, "t1": t0 + 0.5 if t1 is None else t1,
            **journal}


def writes(user, status, image, op, t0=1.0, **extra):
    action = {"modify": "ims:images:update", "upload": "ims:images:upload", "delete": "ims:images:delete",
              "create": "ims:serverImages:create"}[op]
    return entry("writer", user, status, t0, op=op, image=image, audit_action=action, audit_target=image, **extra)


def audited(username, action, target, *, outcome=AuditEvent.Outcome.ALLOWED, repeat=1):
    AuditEvent.objects.create(actor=User.objects.get(username=username), actor_name=username, action=action,
                              target_id=target or "", outcome=outcome, repeat_count=repeat)


def writer_image(the_world, description="new", status=Image.Status.ACTIVE):
    flap_target = Image.objects.get(pk=the_world["flap"]["image"])
    return str(Image.objects.create(name=f"load-w-{Image.objects.count()}", description=description,
                                    project=flap_target.project, status=status).pk)


def test_an_empty_journal_passes_every_check(the_world, tmp_path):
    verdict = verify(the_world, tmp_path)
    assert verdict == {"journal": {"attempts": 0, "acknowledged_writes": 0, "refusals": 0, "unacknowledged": 0,
                                   "flap_cycles": 0, "flapper_requests_judged": {}},
                       "checks": ALL_ZERO, "problems": {}}


def test_a_journal_the_database_matches_passes(the_world, tmp_path):
    writer = the_world["writers"][0]
    image = writer_image(the_world, description="tok-1")
    audited(writer, "ims:serverImages:create", image)
    audited(writer, "ims:images:update", image)
    verdict = verify(the_world, tmp_path, writes(writer, 302, image, "create"),
                     writes(writer, 302, image, "modify", token="tok-1"),
                     writes(writer, 409, image, "modify", token="tok-2"))
    assert verdict["checks"] == ALL_ZERO
    assert verdict["journal"] == {"attempts": 3, "acknowledged_writes": 2, "refusals": 0, "unacknowledged": 1,
                                  "flap_cycles": 0, "flapper_requests_judged": {}}


def test_lost_writes_of_the_writers_images_are_found(the_world, tmp_path):
    writer = the_world["writers"][0]
    still_there, changed, not_active = (writer_image(the_world, description="old"),
                                        writer_image(the_world, description="old"),
                                        writer_image(the_world, status=Image.Status.QUEUED))
    missing = "00000000-0000-0000-0000-000000000001"
    verdict = verify(the_world, tmp_path, writes(writer, 302, still_there, "delete"),
                     writes(writer, 302, missing, "modify", token="gone"),
                     writes(writer, 302, changed, "modify", token="first"),
                     writes(writer, 302, changed, "modify", token="second", t0=2.0),
                     writes(writer, 302, not_active, "upload"))
    assert verdict["checks"]["lost_writes"] == 4
    assert verdict["problems"]["lost_writes"] == [
        f"{still_there}: delete acknowledged, image still there",
        f"{missing}: created, never deleted, missing",
        f"{changed}: description 'old', last acknowledged 'second'",
        f"{not_active}: upload acknowledged, status queued"]


def test_an_unacknowledged_write_is_not_expected_in_the_database(the_world, tmp_path):
    writer = the_world["writers"][0]
    image = writer_image(the_world, description="old")
    verdict = verify(the_world, tmp_path, writes(writer, 0, image, "modify", token="maybe"),
                     writes(writer, 503, image, "delete"))
    assert verdict["checks"]["lost_writes"] == 0
    assert verdict["journal"]["unacknowledged"] == 2


def test_the_flap_targets_last_acknowledged_description_and_the_grants_state_are_checked(the_world, tmp_path):
    flapper, admin, flap = the_world["flapper"], the_world["admin"]["username"], the_world["flap"]
    Image.objects.filter(pk=flap["image"]).update(description="flap-1")
    journal = [entry("flapper", flapper, 302, 1.0, op="modify", image=flap["image"], token="flap-1"),
               entry("flapper", flapper, 302, 2.0, op="modify", image=flap["image"], token="flap-2"),
               entry("admin", admin, 302, 0.5, op="attach", audit_target=str(flap["group"]),
                     audit_action="iam:permissions:grantPermission")]
    verdict = verify(the_world, tmp_path, *journal)
    assert verdict["problems"]["lost_writes"] == ["flap target: 'flap-1', last acknowledged 'flap-2'",
                                                  "flap grant attached=False, last acknowledged attach"]
    Image.objects.filter(pk=flap["image"]).update(description="flap-2")
    Grant.objects.create(group_id=flap["group"], policy_id=flap["policy"], all_resources=True)
    assert verify(the_world, tmp_path, *journal)["checks"]["lost_writes"] == 0


def test_the_flap_target_may_hold_a_later_save_whose_answer_never_came_not_one_answered_as_failed(the_world,
                                                                                                  tmp_path):
    """A killed worker may have done the flapper's save before the connection dropped (status 0): its
    description is no lost write. A 503 said "nothing was changed": its description is one."""
    flapper, flap = the_world["flapper"], the_world["flap"]
    saves = {"op": "modify", "image": flap["image"], "audit_action": "ims:images:update", "audit_target": flap["image"]}
    journal = [entry("flapper", flapper, 302, 1.0, token="flap-1", **saves),
               entry("flapper", flapper, 0, 2.0, token="flap-unanswered", **saves),
               entry("flapper", flapper, 503, 3.0, token="flap-503", **saves)]
    Image.objects.filter(pk=flap["image"]).update(description="flap-unanswered")
    assert verify(the_world, tmp_path, *journal)["checks"]["lost_writes"] == 0
    Image.objects.filter(pk=flap["image"]).update(description="flap-503")
    assert verify(the_world, tmp_path, *journal)["problems"]["lost_writes"] == [
        "flap target: 'flap-503', last acknowledged 'flap-1'"]


def test_a_refused_write_that_happened_is_found(the_world, tmp_path):
    reader, sentinels = the_world["readers"][0], the_world["sentinels"]
    Image.objects.filter(pk=sentinels[0]).update(description="refused-1")
    Image.objects.filter(pk=sentinels[1]).delete()
    Image.objects.filter(pk=sentinels[2]).update(name="load-sentinel-hacked")  # the name is not what is checked
    verdict = verify(the_world, tmp_path,
                     entry("reader", reader, 403, 1.0, op="modify", image=sentinels[0], token="refused-1",
                           audit_action="ims:images:update", audit_target=sentinels[0]),
                     entry("reader", reader, 403, 2.0, op="modify", image=sentinels[3], token="refused-2",
                           audit_action="ims:images:update", audit_target=sentinels[3]))
    assert verdict["checks"]["refused_but_done"] == 3
    assert verdict["problems"]["refused_but_done"] == [f"{sentinels[0]}: holds a refused description",
                                                       "1 sentinel images gone",
                                                       f"{sentinels[0]}: sentinel modified"]
    assert verdict["journal"]["refusals"] == 2


def test_a_flapper_request_is_judged_only_where_the_grant_certainly_was_or_was_not_attached(the_world, tmp_path):
    flapper, admin, group = the_world["flapper"], the_world["admin"]["username"], str(the_world["flap"]["group"])

    def flap(status, t0, t1):
        return entry("flapper", flapper, status, t0, t1, op="modify", image=the_world["flap"]["image"],
                     token=f"flap-{t0}", audit_action="ims:images:update", audit_target=the_world["flap"]["image"])

    stale_deny, stale_allow = flap(403, 12.0, 13.0), flap(302, 5.0, 6.0)
    verdict = verify(
        the_world, tmp_path,
        entry("admin", admin, 302, 20.0, 21.0, op="detach", audit_target=group,
              audit_action="iam:permissions:revokePermission"),  # sorted by sending time
        entry("admin", admin, 302, 10.0, 11.0, op="attach", audit_target=group,
              audit_action="iam:permissions:grantPermission"),
        entry("admin", admin, 0, 30.0, 31.0, op="attach", audit_target=group,
              audit_action="iam:permissions:grantPermission"),  # unacknowledged: not a boundary
        stale_deny,                 # while attached (11 → 20): a refusal there is stale
        flap(503, 14.0, 15.0),      # while attached, but unavailable: not a refusal
        flap(302, 15.0, 16.0),      # while attached, allowed: right
        stale_allow,                # before the first attach: detached, allowed is stale
        flap(302, 10.5, 11.5),      # spans the attach: not judged
        flap(403, 25.0, 26.0),      # after the detach: refused, right
        flap(403, 32.0, 33.0))      # after an unacknowledged attach: still judged as detached
    assert verdict["journal"]["flapper_requests_judged"] == {"after_grant": 3, "after_revocation": 3}
    assert list(verdict["journal"]["flapper_requests_judged"]) == ["after_grant", "after_revocation"]
    assert verdict["journal"]["flap_cycles"] == 1
    assert (verdict["checks"]["stale_allows"], verdict["checks"]["stale_denies"]) == (1, 1)
    assert verdict["problems"]["stale_allows"] == [stale_allow]
    assert verdict["problems"]["stale_denies"] == [stale_deny]
    # Problems are listed in the order they were first found: here the stale refusal came first.
    assert list(verdict["problems"]).index("stale_denies") < list(verdict["problems"]).index("stale_allows")


def test_audit_events_for_acknowledged_writes_are_counted(the_world, tmp_path):
    writer, other = the_world["writers"]
    unaudited, twice, maybe, created = (writer_image(the_world, description="a"),
                                        writer_image(the_world, description="b"),
                                        writer_image(the_world, description="c"),
                                        writer_image(the_world))
    audited(writer, "ims:images:update", twice)
    audited(writer, "ims:images:update", twice)
    audited(writer, "ims:images:update", maybe)  # its answer never came: one event may be there
    audited(other, "ims:serverImages:create", created)  # a create never answered: its image known from the event
    verdict = verify(the_world, tmp_path, writes(writer, 302, unaudited, "modify", token="a"),
                     writes(writer, 302, twice, "modify", token="b"),
                     writes(writer, 0, maybe, "modify", token="c2"),
                     entry("writer", other, 0, 3.0, op="create", image=None, audit_action="ims:serverImages:create",
                           audit_target=None))
    assert verdict["checks"]["audit_writes"] == 2
    assert sorted(verdict["problems"]["audit_writes"]) == sorted([
        f"('{writer}', 'ims:images:update', '{unaudited}'): 0 events for 1 acknowledged writes",
        f"('{writer}', 'ims:images:update', '{twice}'): 2 events for 1 acknowledged writes"])


def test_an_unanswered_write_may_add_one_event_no_more(the_world, tmp_path):
    writer = the_world["writers"][0]
    image = writer_image(the_world, description="x")
    audited(writer, "ims:images:update", image)
    audited(writer, "ims:images:update", image)
    verdict = verify(the_world, tmp_path, writes(writer, 0, image, "modify", token="x"))
    assert verdict["problems"]["audit_writes"] == [
        f"('{writer}', 'ims:images:update', '{image}'): 2 events for 0 acknowledged writes"]


def test_refusals_are_counted_once_each_in_the_audit_log(the_world, tmp_path):
    reader, other = the_world["readers"]
    flapper, sentinel = the_world["flapper"], the_world["sentinels"][0]

    def refused(user, status, t0):
        return entry("reader", user, status, t0, op="delete", image=sentinel, audit_action="ims:images:delete",
                     audit_target=sentinel)

    audited(reader, "ims:images:delete", sentinel, outcome=AuditEvent.Outcome.DENIED, repeat=2)  # two refusals
    audited(flapper, "ims:images:delete", sentinel, outcome=AuditEvent.Outcome.DENIED)  # never refused
    audited(other, "ims:images:delete", sentinel, outcome=AuditEvent.Outcome.DENIED, repeat=2)  # one maybe
    verdict = verify(the_world, tmp_path, refused(reader, 403, 1.0), refused(reader, 403, 2.0),
                     refused(other, 403, 3.0), refused(other, 503, 4.0), refused(other, 403, 5.0),
                     refused(reader, 403, 6.0))
    assert verdict["checks"]["audit_refusals"] == 2
    assert sorted(verdict["problems"]["audit_refusals"]) == sorted([
        f"('{flapper}', 'ims:images:delete'): 1 counted, 0 refused",
        f"('{reader}', 'ims:images:delete'): 2 counted, 3 refused"])
