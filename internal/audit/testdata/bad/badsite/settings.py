"""A project that breaks every item of the checklist. Each line a rule
fails on says so in an "expect:" comment, which the tests read."""
import os

SECRET_KEY = "django-insecure-abc123"  # expect: secret-key fail
DEBUG = os.environ.get("DJANGO_DEBUG", "True") == "True"  # expect: debug-off fail
ALLOWED_HOSTS = [
    "www.example.com",
    "*",  # expect: allowed-hosts fail
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "corsheaders",
    "shop",
]

MIDDLEWARE = [  # expect: csrf-middleware fail, xframe-middleware fail, whitenoise warn, csp fail
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",  # expect: security-middleware warn
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

SESSION_COOKIE_SECURE = False  # expect: session-cookie-secure fail
CSRF_COOKIE_SECURE = os.getenv("CSRF_COOKIE_SECURE", "") == "yes"  # expect: csrf-cookie-secure fail
SESSION_COOKIE_HTTPONLY = False  # expect: session-cookie-httponly fail
SESSION_COOKIE_SAMESITE = None  # expect: cookie-samesite warn

SECURE_SSL_REDIRECT = False  # expect: ssl-redirect fail
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTOCOL", "https")  # expect: proxy-ssl-header warn
SECURE_HSTS_SECONDS = 0  # expect: hsts fail
SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # expect: hsts-subdomains warn
SECURE_HSTS_PRELOAD = False  # expect: hsts-preload warn
SECURE_CONTENT_TYPE_NOSNIFF = False  # expect: nosniff fail
X_FRAME_OPTIONS = "ALLOWALL"  # expect: x-frame-options fail

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 6},  # expect: password-validators fail
    },
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 7  # expect: password-reset-timeout fail

REST_FRAMEWORK = {  # expect: drf-throttling fail
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",  # expect: drf-authentication fail
    ],
}

CORS_ALLOW_ALL_ORIGINS = True  # expect: cors-allow-all fail
CORS_ALLOW_CREDENTIALS = True

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "HOST": "db.example.com",
        "OPTIONS": {"sslmode": "disable"},  # expect: database-ssl fail
        "CONN_MAX_AGE": 0,  # expect: database-conn-max-age warn
    }
}

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.db.backends": {"handlers": ["console"], "level": "DEBUG"},  # expect: logging-level warn
    },
}

AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # expect: secrets-in-tree fail
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # expect: secrets-in-tree fail
STRIPE_API_TOKEN = "tok_9fQ2mZx81LpRvA7cWq3eTn5Y"  # expect: secrets-in-tree fail
CACHE_URL = "redis://default:hunter2hunter2@cache.example.com:6379/0"  # expect: secrets-in-tree fail
