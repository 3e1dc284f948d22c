from .base import *  # noqa: F401,F403

DEBUG = True
SECRET_KEY = "dev-only-key"
ALLOWED_HOSTS = ["*"]
