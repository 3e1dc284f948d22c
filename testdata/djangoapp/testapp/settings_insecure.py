"""The test app as a careless deployment: DEBUG on, no SecurityMiddleware
(no nosniff, no Referrer-Policy), no XFrameOptionsMiddleware, and a CORS
middleware that echoes any Origin with credentials. parapet scan's tests
scan it directly and through Parapet."""
from .settings import *  # noqa: F401,F403
from .settings import MIDDLEWARE

DEBUG = True
MIDDLEWARE = [
    m for m in MIDDLEWARE
    if m not in ("django.middleware.security.SecurityMiddleware",
                 "django.middleware.clickjacking.XFrameOptionsMiddleware")
] + ["testapp.settings_insecure.ReflectOriginMiddleware"]


class ReflectOriginMiddleware:
    """What CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS amounts to."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        origin = request.META.get("HTTP_ORIGIN")
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Credentials"] = "true"
        return response
