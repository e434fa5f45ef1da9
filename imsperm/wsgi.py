"""WSGI entry point (gunicorn imsperm.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
application = get_wsgi_application()
