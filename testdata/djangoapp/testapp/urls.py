from pathlib import Path

from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path
from django.views.static import serve

from . import views

FILES = Path(__file__).resolve().parent.parent / "files"

urlpatterns = [
    path("", views.home),
    path("login/", views.login_view),
    path("account/", views.account),
    path("api/echo/", views.api_echo),
    path("api/loads/", views.api_loads),
    path("upload/", views.upload),
    path("form/echo/", views.form_echo),
    path("form/body/", views.body_form),
    path("cookies/", views.cookies),
    path("cookies/echo/", views.cookie_echo),
    path("whoami/", views.whoami),
    path("reflect/", views.reflect),
    path("slow/", views.slow),
    path("boom/", views.boom),
    path("search/", views.search),
    path("comments/", views.comment),
    path("report/", views.report),
    path("download/", views.download),
    path("article/", views.article),
    path("boom-big/", views.boom_big),
    path("careless/", views.careless),
    path("encoded/", views.encoded),
    path("accept-encoding/", views.accept_encoding),
    path("__requests__/", views.requests_seen),
    path("csp/", views.csp_page),
    path("admin/", admin.site.urls),
    # Files served by Django's static view, which normalises the captured
    # path (posixpath.normpath): "files//private/x" and
    # "files/public/../private/x" serve files/private/x. The scope tests
    # check that a rule on /files/private/ covers every such spelling.
    re_path(r"^files/(?P<path>.*)$", serve, {"document_root": FILES}),
    re_path(r"^docs/(?P<path>.*)$", serve, {"document_root": FILES}),
    # The admin's own scripts and styles, as WhiteNoise serves them on a
    # Heroku site (DEBUG is off here, hence insecure=True): the CSP tests
    # load the admin in Chromium under Parapet's starter policy.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
]
