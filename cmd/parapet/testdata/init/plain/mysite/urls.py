from django.contrib import admin
from django.urls import include, path, re_path

from shop import views as shop_views

urlpatterns = [
    path('staff-area/', admin.site.urls),
    path("signin/", shop_views.signin, name="signin"),
    path("webhooks/stripe/", shop_views.stripe_webhook),
    re_path(r"^hooks/github/(?P<event>\w+)/$", shop_views.github_hook),
    path("shop/", include("shop.urls")),
    path("", shop_views.home),
]
