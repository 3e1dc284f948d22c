from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("login/", views.login_view),
    path("account/", views.account),
    path("api/echo/", views.api_echo),
    path("upload/", views.upload),
    path("form/echo/", views.form_echo),
    path("cookies/", views.cookies),
    path("whoami/", views.whoami),
    path("slow/", views.slow),
    path("boom/", views.boom),
    path("search/", views.search),
    path("comments/", views.comment),
    path("report/", views.report),
    path("download/", views.download),
    path("article/", views.article),
    path("__requests__/", views.requests_seen),
    path("admin/", admin.site.urls),
]
