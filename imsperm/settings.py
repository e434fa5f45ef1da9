"""Settings for imsperm, read from the environment (every variable is in the README).

DATABASE_URL picks the database (SQLite in the project folder by default), REDIS_URL the shared
cache (per-process memory when unset); DJANGO_SECRET_KEY is required unless DJANGO_DEBUG is on.
Without DJANGO_DEBUG the settings are production's: HTTPS only (redirect, HSTS, secure cookies),
each switch overridable for a plain-HTTP test on loopback.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_flag("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local work).")
    SECRET_KEY = "imsperm-insecure-development-key-only-for-debug-mode"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS. Behind a proxy that ends TLS, DJANGO_SECURE_PROXY_SSL_HEADER=1 trusts its
# X-Forwarded-Proto (only set it when the proxy overwrites that header on every request).
if env_flag("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_flag("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env_flag("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Health checks come from the proxy or the orchestrator over plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "accounts",
    "images",
    "api",
    "federation",
    "preferences",
]

MIDDLEWARE = [
    "imsperm.request_log.RequestLogMiddleware",  # first: it times and logs every answer
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "imsperm.middleware.RefuseNulMiddleware",
    "imsperm.sessions.SessionMiddleware",  # Django's, but done work stands if only the session's save failed
    "django.middleware.locale.LocaleMiddleware",  # the browser's language (Accept-Language, the cookie)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "preferences.middleware.PreferencesMiddleware",  # the person's time zone, theme, language (session)
    "accounts.middleware.RequestKeysMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "imsperm.method_not_allowed.MethodNotAllowedMiddleware",  # after the headers' middleware: its page gets them
    "imsperm.busy.BusyDatabaseMiddleware",  # a busy database raised by a view: 503 + Retry-After
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into the page
]

ROOT_URLCONF = "imsperm.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.console",
            ],
            # {{ value|moment }}: every time shown; {% translate %} in every template without a load;
            # `pluralize` that adds no English suffix in Chinese
            "builtins": ["preferences.templatetags.moments", "django.templatetags.i18n",
                         "preferences.templatetags.plurals"],
        },
    },
]

WSGI_APPLICATION = "imsperm.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0" if DEBUG else "60")),
        conn_health_checks=True,
    )
}
# How long a request waits for a lock before it is answered 503 with Retry-After (imsperm.busy): SQLite's
# busy timeout, PostgreSQL's lock_timeout. Plans are made outside any transaction, so only writes wait.
IMSPERM_DB_LOCK_TIMEOUT = float(os.environ.get("IMSPERM_DB_LOCK_TIMEOUT", "5"))
IMSPERM_BUSY_RETRY_AFTER = int(os.environ.get("IMSPERM_BUSY_RETRY_AFTER", "5"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A transaction takes SQLite's write lock when it begins, so two saves queue (for up to
    # `timeout` seconds) instead of both reading, then failing to upgrade: "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE",
                                                           "timeout": IMSPERM_DB_LOCK_TIMEOUT})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A statement waiting for a row or table lock gives up after the same bound (SQLSTATE 55P03).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (_options.get("options", "") + f" -c lock_timeout={int(IMSPERM_DB_LOCK_TIMEOUT * 1000)}"
                           ).strip()

AUTH_USER_MODEL = "accounts.User"
# The throttle comes first: a locked-out name-and-address is refused before any password check.
AUTHENTICATION_BACKENDS = ["accounts.backends.SignInThrottleBackend", "accounts.backends.PolicyBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (django-axes): failures are counted per user name and address together, so
# an attacker cannot lock a person out from elsewhere, and unknown names count like known ones.
AXES_FAILURE_LIMIT = int(os.environ.get("IMSPERM_SIGNIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("IMSPERM_SIGNIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.signin.client_address"
# Reverse proxies whose X-Forwarded-For is believed (CIDRs, comma-separated); none by default.
# A malformed entry stops the server at start-up (ValueError), not at a request.
IMSPERM_TRUSTED_PROXIES = [str(ipaddress.ip_network(item.strip(), strict=False))
                           for item in os.environ.get("IMSPERM_TRUSTED_PROXIES", "").split(",") if item.strip()]
AXES_ENABLE_ADMIN = False  # unlocking goes through the cool-off, not an unaudited admin delete
AXES_VERBOSE = False
# Multi-factor sign-in (django-otp): authenticator apps show this issuer beside the code.
OTP_TOTP_ISSUER = "imsperm"
IMSPERM_MFA_PENDING_SECONDS = 300  # how long a password stays good while the code is asked for
# Passkeys (django-otp-webauthn, accounts/passkeys.py): a second factor only, never passwordless. The
# relying party is the request's host name and origin (Host is checked against ALLOWED_HOSTS) unless
# these name them; the library's check for a fixed origin list is silenced for that reason.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "accounts.passkeys.PasskeyHelper"
OTP_WEBAUTHN_RP_ID_CALLABLE = "accounts.passkeys.relying_party_id"
OTP_WEBAUTHN_RP_NAME = "imsperm"
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""  # refusals are answered and audited, not logged as tracebacks
IMSPERM_WEBAUTHN_RP_ID = os.environ.get("IMSPERM_WEBAUTHN_RP_ID", "")
IMSPERM_WEBAUTHN_ORIGINS = [o.strip() for o in os.environ.get("IMSPERM_WEBAUTHN_ORIGINS", "").split(",") if o.strip()]
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E030"]
# Sudo mode (accounts.sudo): sign-in and credential changes ask for the password again after this long.
IMSPERM_SUDO_SECONDS = int(os.environ.get("IMSPERM_SUDO_SECONDS", "300"))
# Access requests (issue 21): an undecided request lapses after this many hours; requesters and
# approvers are told by e-mail (printed to the console in development, SMTP from EMAIL_* otherwise).
IMSPERM_ACCESS_REQUEST_TTL_HOURS = float(os.environ.get("IMSPERM_ACCESS_REQUEST_TTL_HOURS", "72"))
_MAILER = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
                         else "django.core.mail.backends.smtp.EmailBackend")
MAILERS = {"default": {"BACKEND": _MAILER, **({"OPTIONS": {"host": os.environ.get("DJANGO_EMAIL_HOST", "localhost")}}
                                               if _MAILER.endswith("smtp.EmailBackend") else {})}}
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "imsperm@localhost")

# Django's own list, the first computed on a low-priority thread of its own so that sign-ins do not
# stall the pages of people already signed in (imsperm/password_hashing.py, issue 23).
PASSWORD_HASHERS = [
    "imsperm.password_hashing.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The console's languages: English and Simplified Chinese (locale/zh_Hans). Chosen from the browser's
# Accept-Language, or the person's saved choice (preferences.middleware); action names, JSON and
# policy documents are API and stay as they are.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("IMSPERM_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves hashed, compressed files (collectstatic writes the manifest); development and
# the tests, which never run collectstatic, serve the files as they are.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("IMSPERM_MEDIA_ROOT", BASE_DIR / "media"))

# Uploads: large files stream to a temporary file, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The sign-in page lists the demo logins (seed_demo) while they exist: on for local work only.
IMSPERM_DEMO_LOGINS = env_flag("IMSPERM_DEMO_LOGINS", default=DEBUG)
IMSPERM_MAX_UPLOAD_BYTES = int(os.environ.get("IMSPERM_MAX_UPLOAD_BYTES", str(64 * 1024 * 1024)))
# Calls of the decision API per token (django-ninja's throttle syntax: count/period, s m h d), counted
# in the cache (Redis when REDIS_URL is set, else per process).
IMSPERM_API_RATE = os.environ.get("IMSPERM_API_RATE", "120/m")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The shared cache: Redis when REDIS_URL is set (every server sees one cache), else per-process
# memory. Redis holds sessions only, in front of the database (`cached_db`); authorization never
# comes from it (docs/decisions.md). A Redis outage costs speed, not correctness: the backend
# answers a miss and the sessions are read from the database.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "imsperm.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("IMSPERM_CACHE_PREFIX", "imsperm"),
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }
    SESSION_ENGINE = "imsperm.sessions"
else:
    # A per-process cache must not hold sessions: another worker would keep serving a signed-out one.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
# A session change that could not reach Redis (during an outage) is served stale for at most this long.
IMSPERM_SESSION_CACHE_SECONDS = int(os.environ.get("IMSPERM_SESSION_CACHE_SECONDS", "300"))

# One JSON line per request (imsperm.requests) and per refused authorization (imsperm.refusals) on
# standard error, where gunicorn and any log collector pick them up. IMSPERM_LOG_LEVEL=WARNING
# keeps only the refusals.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json_line": {"format": "%(message)s"}},
    # An outage (database unreachable, image folder refusing files) answered 503 logs one line, no traceback.
    "filters": {"outage": {"()": "imsperm.busy.OutageLogFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["outage"]},
        "json_lines": {"class": "logging.StreamHandler", "formatter": "json_line"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Refusals (403) and unknown pages (404) are answered and audited; they are not server faults.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "imsperm.requests": {"handlers": ["json_lines"], "level": os.environ.get("IMSPERM_LOG_LEVEL", "INFO"),
                             "propagate": False},
        "imsperm.refusals": {"handlers": ["json_lines"], "level": "INFO", "propagate": False},
    },
}
