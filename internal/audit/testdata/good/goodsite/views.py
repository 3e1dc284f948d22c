import logging

from django.db import connection
from django.http import JsonResponse

from .models import Order

log = logging.getLogger(__name__)


def order(request, pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT total FROM shop_order WHERE id = %s", [pk])
        row = cursor.fetchone()
    log.info(f"order {pk} looked up")
    recent = Order.objects.raw("SELECT * FROM shop_order WHERE customer_id = %s", [request.user.pk])
    return JsonResponse({"total": row[0] if row else None, "recent": len(list(recent))})


def report(request):
    match request.GET.get("kind"):
        case "daily":
            period = "1 day"
        case _:
            period = "7 days"
    query = "SELECT count(*) FROM shop_order WHERE created > now() - %s::interval"
    with connection.cursor() as cursor:
        cursor.execute(query, [period])
        return JsonResponse({"count": cursor.fetchone()[0]})
