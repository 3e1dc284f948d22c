DEBUG = False
ALLOWED_HOSTS = ("myapp.herokuapp.com", ".myapp.com")
if DEBUG:
    ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "app.urls"
STATIC_URL = "static/"
