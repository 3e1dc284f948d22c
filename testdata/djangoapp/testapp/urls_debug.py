"""The DEBUG app's URLconf: the test app's, then 2,000 more patterns, so
Django's DEBUG 404 page (which lists them all) is some 300 KB, the list
running far past the first 64 KB."""
from django.urls import path

from . import views
from .urls import urlpatterns as base

urlpatterns = base + [
    path("catalogue/section-%d/item/<int:pk>/" % i, views.home, name="catalogue-%d" % i)
    for i in range(2000)
]
