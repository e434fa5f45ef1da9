"""Sign-in's password hashing runs on a low-priority thread of its own (imsperm/password_hashing.py,
issue 23) and is still exactly Django's PBKDF2: passwords stored before verify, and new ones verify
with Django's own hasher."""

import os
import sys
import threading
from pathlib import Path

from django.contrib.auth import hashers

from imsperm import password_hashing
from imsperm import settings as production_settings


def test_production_hashes_passwords_with_it_first():
    assert production_settings.PASSWORD_HASHERS[0] == "imsperm.password_hashing.PBKDF2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" not in production_settings.PASSWORD_HASHERS


def test_the_hash_is_djangos_own(monkeypatch):
    ours, djangos = password_hashing.PBKDF2PasswordHasher(), hashers.PBKDF2PasswordHasher()
    monkeypatch.setattr(ours, "iterations", 1000)
    monkeypatch.setattr(djangos, "iterations", 1000)
    assert ours.algorithm == djangos.algorithm == "pbkdf2_sha256"
    encoded = ours.encode("correct horse", "somesalt")
    assert encoded == djangos.encode("correct horse", "somesalt")
    assert ours.verify("correct horse", encoded) and not ours.verify("wrong horse", encoded)
    assert djangos.verify("correct horse", ours.encode("correct horse", ours.salt()))


def test_it_hashes_on_another_thread_at_a_lower_priority(monkeypatch):
    seen = {}

    def recording(self, password, salt, iterations=None):
        seen["thread"] = threading.get_native_id()
        if sys.platform == "linux":
            seen["nice"] = os.getpriority(os.PRIO_PROCESS, seen["thread"])
            seen["name"] = Path(f"/proc/self/task/{seen['thread']}/comm").read_text().strip()
        return f"pbkdf2_sha256$1${salt}$x"

    monkeypatch.setattr(hashers.PBKDF2PasswordHasher, "encode", recording)
    assert password_hashing.PBKDF2PasswordHasher().encode("pw", "salt") == "pbkdf2_sha256$1$salt$x"
    assert seen["thread"] != threading.get_native_id()
    if sys.platform == "linux":
        assert seen["nice"] >= os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + 1
        # named for the system: make loadtest counts sign-ins' hashing apart from the pages' CPU by it
        assert seen["name"] == password_hashing.THREAD_NAME


def test_a_forked_process_makes_its_own_hashing_thread(monkeypatch):
    before = password_hashing.hashing_pool()
    assert password_hashing.hashing_pool() is before
    monkeypatch.setattr(password_hashing.os, "getpid", lambda: -1)  # as in a gunicorn worker after the fork
    after = password_hashing.hashing_pool()
    assert after is not before and after.submit(lambda: 42).result(timeout=10) == 42


def test_gunicorn_workers_have_threads_to_answer_pages_while_one_hashes(monkeypatch):
    import runpy

    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    config = runpy.run_path(str(production_settings.BASE_DIR / "imsperm" / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread" and config["threads"] >= 2
    # A worker takes a connection only with a thread free for it, and each request brings its own.
    assert config["worker_connections"] == config["threads"] and config["keepalive"] == 0
