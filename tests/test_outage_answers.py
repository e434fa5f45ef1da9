"""An outage is answered 503 with Retry-After and logged as one line (make faulttest): a session save that
lost the database (Django calls it SessionInterrupted, a 400) and a request that failed on it alike."""

import logging

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.handlers.exception import response_for_exception
from django.db import OperationalError
from django.test import RequestFactory

from imsperm.busy import OutageLogFilter


def interrupted_session() -> SessionInterrupted:
    """The chain Django builds when the session's save meets a lost connection."""
    try:
        try:
            try:
                raise OperationalError("server closed the connection unexpectedly")
            except OperationalError:
                raise UpdateError  # noqa: B904 (as Django raises it)
        except UpdateError:
            raise SessionInterrupted("The request's session was deleted before the request completed.")  # noqa: B904
    except SessionInterrupted as error:
        return error


def test_a_session_save_that_lost_the_database_answers_503_with_retry_after_not_400(db):
    error = interrupted_session()
    response = response_for_exception(RequestFactory().get("/images/"), error)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "Nothing was changed" in response.content.decode()


def test_a_bad_session_that_no_outage_caused_is_still_a_400(db):
    error = SessionInterrupted("The request's session was deleted before the request completed.")
    assert response_for_exception(RequestFactory().get("/images/"), error).status_code == 400


def record_of(error: BaseException) -> logging.LogRecord:
    return logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Service Unavailable: %s", ("/images/",),
                             (type(error), error, None))


def test_an_outage_is_logged_as_one_line_naming_the_cause_and_a_fault_keeps_its_traceback():
    outage = record_of(OperationalError("connection failed: Connection refused\n\tIs the server running?"))
    assert OutageLogFilter().filter(outage)
    assert outage.exc_info is None
    assert outage.getMessage() == ("Service Unavailable: /images/ (outage: OperationalError: connection failed: "
                                   "Connection refused)")
    fault = record_of(ValueError("a bug"))
    assert OutageLogFilter().filter(fault) and fault.exc_info is not None
    handler = next(h for h in logging.getLogger("django.request").handlers)
    assert any(isinstance(f, OutageLogFilter) for f in handler.filters)  # the settings put it on the console


def session_update_losing_the_database(answer_status: int, cause: Exception):
    """A request whose view answered `answer_status` after changing its (existing) session, whose save then
    meets `cause` — as when PostgreSQL restarts between the view's commit and the session's save."""
    from django.http import HttpResponse

    from imsperm.sessions import SessionMiddleware

    middleware = SessionMiddleware(lambda request: HttpResponse(status=answer_status))
    request = RequestFactory().post("/images/1/edit/")
    request.COOKIES["sessionid"] = "an-existing-session-key"
    middleware.process_request(request)
    request.session["_messages"] = "Image saved."

    def save(must_create=False):
        try:
            raise cause
        except Exception:
            raise UpdateError  # noqa: B904 (as Django's database backend raises it)

    request.session.save = save
    return middleware.process_response(request, HttpResponse(status=answer_status))


def test_a_write_done_stands_when_only_its_sessions_save_lost_the_database(db, caplog):
    response = session_update_losing_the_database(302, OperationalError("server closed the connection unexpectedly"))
    assert response.status_code == 302  # the write committed: never "503, nothing was changed"
    assert "session not saved after POST /images/1/edit/ answered 302" in caplog.text
    from django.conf import settings

    assert "imsperm.sessions.SessionMiddleware" in settings.MIDDLEWARE
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in settings.MIDDLEWARE


def test_a_failed_answer_or_a_fault_that_is_no_outage_still_interrupts(db):
    import pytest

    with pytest.raises(SessionInterrupted):
        session_update_losing_the_database(409, OperationalError("server closed the connection unexpectedly"))
    with pytest.raises(SessionInterrupted):
        session_update_losing_the_database(302, ValueError("a bug in a session's serializer"))
