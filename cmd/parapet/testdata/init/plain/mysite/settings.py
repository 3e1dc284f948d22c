from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = 'django-insecure-fixture'  # not a real key
DEBUG = False
ALLOWED_HOSTS = ['www.example.com', '.example.org',
                 "localhost"]  # the team's hosts
ROOT_URLCONF = 'mysite.urls'
WSGI_APPLICATION = 'mysite.wsgi.application'
LOGIN_URL = "/signin/"
STATIC_URL = '/static/'
MEDIA_URL = "/uploads/"
