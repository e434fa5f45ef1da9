"""make faulttest's verdict on one fault (loadtest/faulttest.py `_judge_phase`) from synthetic requests and
/healthz samples: what it counts during the fault, when it says the console recovered, and each check.
No servers: requests are (name, sent, answered, status, Retry-After sent, traceback in body) as the
locustfile records them, samples are (time, server, status, /healthz JSON)."""

from loadtest.faulttest import _judge_phase

SERVER = "http://127.0.0.1:1"
ALL_ZERO = {"server_errors_not_503": 0, "503_without_retry_after": 0, "tracebacks_in_answers": 0,
            "no_success_after_fault": 0, "failures_after_recovery": 0}


def phase(name):
    """Phase 100 → 115 s, its fault 103 → 108 s."""
    return {"name": name, "start": 100.0, "fault_start": 103.0, "fault_end": 108.0, "end": 115.0}


def request(sent, answered, status, name="list", *, retry_after=False, traceback=False):
    return (name, sent, answered, status, retry_after, traceback)


def health(at, status="ok", **parts):
    body = {"status": status, "database": "ok", "cache": "ok", "storage": "ok"} | parts
    return (at, SERVER, 200 if status == "ok" else 503, body)


def test_a_database_restart_the_console_recovers_from():
    requests = [request(101.0, 102.0, 200),                         # before the fault
                request(102.5, 103.5, 503, retry_after=True),       # sent before, still out when it began
                request(104.0, 104.2, 503, "modify", retry_after=True),
                request(107.0, 109.0, 0),                           # sent during it, never answered
                request(108.5, 109.5, 200),                         # the first success after it
                request(110.0, 111.0, 302, "upload"),
                request(111.0, 112.0, 200)]
    samples = [health(102.0), health(104.0, "degraded", database="down: OperationalError"),
               health(106.0, "degraded", database="down: OperationalError"), health(109.0)]
    judged = _judge_phase(phase("postgres_restart"), requests, samples)
    assert judged == {
        "fault_seconds": 5.0,
        "requests_during_fault": 3,
        "answers_during_fault": {"0": 1, "503": 2},
        "answers_in_phase": {"0": 1, "200": 3, "302": 1, "503": 2},
        "seconds_to_recover": 1.5,
        "healthz_during_fault": {"degraded: database down: OperationalError, cache ok, storage ok": 2},
        "healthz_ok_again_after_s": 1.0,
        "first_upload_after_s": 3.0,
        "checks": ALL_ZERO | {"healthz_did_not_name_the_part_down": 0},
    }
    assert list(judged["answers_in_phase"]) == ["0", "200", "302", "503"]


def test_wrong_answers_during_the_phase_are_counted():
    requests = [request(104.0, 104.5, 500),
                request(104.0, 104.5, 503),                          # no Retry-After
                request(105.0, 105.5, 502, traceback=True),
                request(109.0, 109.2, 200),                          # recovered at 109.2
                request(110.0, 110.5, 0),                            # a failure after the recovery
                request(111.0, 111.5, 504),                          # another
                request(114.0, 116.0, 0),                            # answered after the phase: not judged here
                request(99.0, 99.5, 500), request(115.0, 115.5, 500)]  # outside the phase
    judged = _judge_phase(phase("redis_restart"), requests, [health(105.0)])
    assert judged["checks"] == {"server_errors_not_503": 3, "503_without_retry_after": 1,
                                "tracebacks_in_answers": 1, "no_success_after_fault": 0,
                                "failures_after_recovery": 2, "healthz_did_not_name_the_part_down": 1}
    assert judged["seconds_to_recover"] == 1.2
    assert judged["healthz_during_fault"] == {
        "ok: database ok, cache ok, storage ok": 1}
    assert judged["healthz_ok_again_after_s"] is None  # the only sample was during the fault


def test_no_success_after_the_fault_is_a_failed_check():
    judged = _judge_phase(phase("worker_killed"), [request(104.0, 104.5, 200), request(109.0, 110.0, 0)], [])
    assert judged["checks"] == ALL_ZERO | {"no_success_after_fault": 1}  # no /healthz check for a worker
    assert (judged["seconds_to_recover"], judged["first_upload_after_s"], judged["healthz_ok_again_after_s"]) == (
        None, None, None)
    assert judged["answers_during_fault"] == {"200": 1}


def test_a_success_sent_after_the_fault_but_answered_first_is_the_recovery():
    requests = [request(108.0, 112.0, 200), request(109.0, 110.0, 200)]  # sorted by answer time
    assert _judge_phase(phase("worker_killed"), requests, [])["seconds_to_recover"] == 2.0


def test_the_upload_folder_has_recovered_when_healthz_can_write_again_not_at_the_first_answer():
    requests = [request(104.0, 104.5, 503, "upload", retry_after=True),
                request(108.2, 108.4, 200),                          # reads never failed
                request(110.0, 110.5, 503, "upload", retry_after=True),  # still no folder: a failure
                request(113.0, 113.5, 302, "upload")]
    samples = [health(105.0, "degraded", storage="down: not a folder"), health(109.0, "degraded", storage="down"),
               health(111.5, "degraded", cache="down"), health(112.0)]
    judged = _judge_phase(phase("storage_unwritable"), requests, samples)
    assert judged["seconds_to_recover"] == 3.5  # /healthz's storage ok at 111.5
    assert judged["first_upload_after_s"] == 5.5
    assert judged["healthz_ok_again_after_s"] == 4.0
    assert judged["checks"] == ALL_ZERO | {"healthz_did_not_name_the_part_down": 0}
    assert judged["healthz_during_fault"] == {"degraded: database ok, cache ok, storage down: not a folder": 1}


def test_the_folder_never_writable_again_is_no_recovery_whatever_the_reads_say():
    judged = _judge_phase(phase("storage_unwritable"), [request(109.0, 109.5, 200)],
                          [health(110.0, "degraded", storage="down")])
    assert judged["seconds_to_recover"] is None
    assert judged["checks"]["no_success_after_fault"] == 1


def test_healthz_during_the_fault_lists_its_answers_most_common_first():
    samples = [health(104.0, "degraded", cache="down"), health(105.0, "degraded", cache="down: gone"),
               health(106.0, "degraded", cache="down: gone"), health(103.0), health(108.0)]
    judged = _judge_phase(phase("redis_restart"), [request(109.0, 109.5, 200)], samples)
    assert list(judged["healthz_during_fault"].items()) == [
        ("degraded: database ok, cache down: gone, storage ok", 2),
        ("ok: database ok, cache ok, storage ok", 2),  # at the fault's start and end: both inside it
        ("degraded: database ok, cache down, storage ok", 1)]
