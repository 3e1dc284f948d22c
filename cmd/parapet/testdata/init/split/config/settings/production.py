from .base import *  # noqa

DEBUG = False
STATIC_URL = "/assets/"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
try:
    from .local import *  # noqa
except ImportError:
    pass
