"""The same app with DEBUG on: its error pages leak tracebacks, which the
leak guard must never let through Parapet. GZip is on so the leak arrives
compressed when the client accepts it. The URLconf adds 2,000 patterns, so
the DEBUG 404 page, which lists them, is some 300 KB."""
from .settings import *  # noqa: F401,F403
from .settings import MIDDLEWARE

DEBUG = True
MIDDLEWARE = ["django.middleware.gzip.GZipMiddleware"] + MIDDLEWARE
ROOT_URLCONF = "testapp.urls_debug"
