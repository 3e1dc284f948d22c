"""The same app with DEBUG on: its error pages leak tracebacks, which the
leak guard must never let through Parapet."""
from .settings import *  # noqa: F401,F403

DEBUG = True
