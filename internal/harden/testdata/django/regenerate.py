"""Writes the DEBUG pages the leak guard's unit tests read: what Django 3.2
(Debian's python3-django) answers the test app (testdata/djangoapp) with
DEBUG on, gzipped. Run from the repository root:

    PYTHONPATH=testdata/djangoapp /usr/bin/python3 internal/harden/testdata/django/regenerate.py
"""
import gzip
import os

os.environ["DJANGO_SETTINGS_MODULE"] = "testapp.settings_debug"
import django  # noqa: E402

django.setup()
from django.test import Client  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
client = Client(raise_request_exception=False)
for name, path, accept in [
    ("technical_500.html", "/boom-big/", "text/html"),
    ("technical_500_value.html", "/boom-big/?value=big", "text/html"),
    ("technical_500_value.txt", "/boom-big/?value=big", "application/json"),
    ("technical_404.html", "/no-such-page/", "text/html"),
]:
    resp = client.get(path, HTTP_ACCEPT=accept)
    with gzip.open(os.path.join(HERE, name + ".gz"), "wb", compresslevel=9) as f:
        f.write(resp.content)
    print(name, resp.status_code, resp["Content-Type"], len(resp.content))
