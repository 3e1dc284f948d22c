from django.contrib import admin

from .models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "category", "author", "published", "created")
    list_filter = ("category", "published", "created")
    search_fields = ("title", "body", "author")
