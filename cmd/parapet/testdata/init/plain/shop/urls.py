from django.urls import path

from . import views

urlpatterns = [
    path("cart/", views.cart),
    path("paypal/webhook/<str:kind>/", views.paypal),
]
