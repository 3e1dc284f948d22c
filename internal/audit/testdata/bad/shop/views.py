from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import JsonResponse

from .models import Order


def search(request):
    q = request.GET.get("q", "")
    orders = Order.objects.raw(f"SELECT * FROM shop_order WHERE note LIKE '%{q}%'")  # expect: raw-sql fail
    return JsonResponse({"n": len(list(orders))})


def by_customer(request):
    sql = "SELECT * FROM shop_order WHERE customer = '" + request.GET["c"] + "'"
    with connection.cursor() as cursor:
        cursor.execute(sql)  # expect: raw-sql fail
        return JsonResponse({"rows": cursor.fetchall()})


def totals(request):
    query = "SELECT sum(total) FROM shop_order WHERE status = '%s'" % request.GET["status"]
    query += " AND deleted = false"
    with connection.cursor() as c:
        c.execute(query)  # expect: raw-sql fail
        return JsonResponse({"total": c.fetchone()[0]})


def sorted_orders(request):
    field = request.GET.get("sort", "id")
    qs = Order.objects.extra(where=["status = '{}'".format(request.GET["s"])])  # expect: raw-sql fail
    qs = qs.annotate(rank=RawSQL("SELECT %s" % field, []))  # expect: raw-sql fail
    return JsonResponse({"n": qs.count()})
