"""Models for the admin pages the attack-detection tests browse (added,
filtered and edited through Django's admin, as a real site's staff would)."""
from django.db import models


class Article(models.Model):
    CATEGORIES = [("news", "News"), ("howto", "How-to"), ("code", "Code snippets")]

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=CATEGORIES, default="news")
    author = models.CharField(max_length=100, blank=True)
    published = models.BooleanField(default=False)
    created = models.DateField(null=True, blank=True)

    class Meta:
        app_label = "testapp"

    def __str__(self):
        return self.title
