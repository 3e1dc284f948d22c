"""ASGI entry point for uvicorn and daphne: testapp.asgi:application."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testapp.settings")
application = get_asgi_application()
