"""Production: what Heroku runs (DJANGO_SETTINGS_MODULE=splitsite.settings.production)."""
import environ

from .base import *  # noqa: F401,F403
from .base import MIDDLEWARE

env = environ.Env(DEBUG=(bool, False))

DEBUG = env("DEBUG")  # expect: debug-off pass
SECRET_KEY = env("DJANGO_SECRET_KEY")  # expect: secret-key pass
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])  # expect: allowed-hosts fail

MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

DATABASES = {"default": env.db("DATABASE_URL")}  # expect: database-ssl cannot-tell, database-conn-max-age cannot-tell

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)  # expect: ssl-redirect pass
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # expect: proxy-ssl-header pass
SECURE_HSTS_SECONDS = get_hsts_seconds()  # expect: hsts cannot-tell
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

if env.bool("USE_SENTRY", default=False):
    X_FRAME_OPTIONS = "SAMEORIGIN"  # expect: x-frame-options cannot-tell
else:
    X_FRAME_OPTIONS = "ALLOWALL"
