"""The same app with DEBUG on: its error pages leak tracebacks, which the
leak guard must never let through Parapet. GZip is on so the leak arrives
compressed when the client accepts it."""
from .settings import *  # noqa: F401,F403
from .settings import MIDDLEWARE

DEBUG = True
MIDDLEWARE = ["django.middleware.gzip.GZipMiddleware"] + MIDDLEWARE
