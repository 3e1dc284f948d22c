"""Views that exercise what a WAF in front of Django must not break."""
import hashlib
import json
import time

from django.db.utils import ProgrammingError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.template import Context, Template
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page

from . import middleware

USERS = {"alice": "correct horse"}


def home(request):
    return render(request, "home.html", {"items": range(20)})


def login_view(request):
    """A CSRF-protected login form (Django's middleware checks the token)."""
    error = False
    if request.method == "POST":
        user = request.POST.get("username", "")
        if USERS.get(user) == request.POST.get("password"):
            request.session["user"] = user
            return HttpResponseRedirect("/account/")
        error = True
    return render(request, "login.html", {"error": error})


def account(request):
    user = request.session.get("user")
    if not user:
        return HttpResponseRedirect("/login/")
    return HttpResponse("hello %s" % user, content_type="text/plain")


@csrf_exempt
def api_echo(request):
    if request.method == "GET":
        return JsonResponse({
            "method": "GET",
            "query": {k: v for k, v in request.GET.items()},
            "headers": {"content_type": request.META.get("CONTENT_TYPE", "")},
        })
    raw = request.body
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        return JsonResponse({"error": "bad json: %s" % exc}, status=400)
    return JsonResponse({
        "method": request.method,
        "json": parsed,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "length": len(raw),
    })


@csrf_exempt
def api_loads(request):
    """The common idiom: json.loads(request.body), whatever the Content-Type.
    On bytes, json.loads detects UTF-8 (with or without a BOM), UTF-16 and
    UTF-32 by itself."""
    try:
        parsed = json.loads(request.body)
    except ValueError as exc:
        return JsonResponse({"error": "bad json: %s" % exc}, status=400)
    return JsonResponse({"json": parsed})


@csrf_exempt
def upload(request):
    if request.method != "POST" or "file" not in request.FILES:
        return JsonResponse({"error": "POST a multipart form with a 'file' field"}, status=400)
    f = request.FILES["file"]
    digest = hashlib.sha256()
    size = 0
    for chunk in f.chunks():
        digest.update(chunk)
        size += len(chunk)
    return JsonResponse({"name": f.name, "size": size, "sha256": digest.hexdigest(),
                         "expect": request.META.get("HTTP_EXPECT")})


@csrf_exempt
def form_echo(request):
    """What Django parsed from a POSTed form (urlencoded or multipart):
    every field's values, and each file's name, size and digest."""
    def describe(f):
        digest = hashlib.sha256()
        for chunk in f.chunks():
            digest.update(chunk)
        return {"name": f.name, "size": f.size, "sha256": digest.hexdigest()}

    return JsonResponse({
        "post": {k: request.POST.getlist(k) for k in request.POST},
        "files": {k: [describe(f) for f in request.FILES.getlist(k)] for k in request.FILES},
    })


@csrf_exempt
def body_form(request):
    """A PUT or PATCH form read the usual way, QueryDict(request.body),
    whatever the Content-Type: what Django parsed, and the body's size and
    digest (for a raw file upload)."""
    raw = request.body
    form = QueryDict(raw)
    return JsonResponse({
        "form": {k: form.getlist(k) for k in form},
        "length": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    })


def cookies(request):
    """Sets session and CSRF cookies with no Secure/HttpOnly/SameSite flags."""
    resp = JsonResponse({"ok": True})
    resp.set_cookie("sessionid", "abc123session", samesite=None)
    resp.set_cookie("csrftoken", "def456csrf", samesite=None)
    return resp


def cookie_echo(request):
    """The cookies as Django parsed them (request.COOKIES)."""
    return JsonResponse({"cookies": request.COOKIES})


def whoami(request):
    m = request.META
    return JsonResponse({
        "x_forwarded_for": m.get("HTTP_X_FORWARDED_FOR"),
        "x_forwarded_proto": m.get("HTTP_X_FORWARDED_PROTO"),
        "x_request_id": m.get("HTTP_X_REQUEST_ID"),
        "x_real_ip": m.get("HTTP_X_REAL_IP"),
        "x_country": m.get("HTTP_X_COUNTRY"),
        "x_forwarded_ssl": m.get("HTTP_X_FORWARDED_SSL"),
        "x_forwarded_protocol": m.get("HTTP_X_FORWARDED_PROTOCOL"),
        "x_forwarded_port": m.get("HTTP_X_FORWARDED_PORT"),
        "expect": m.get("HTTP_EXPECT"),
        # What IP helpers (django-ipware and the like) read as the client.
        "client_ip_headers": {k: v for k, v in m.items() if k in (
            "HTTP_TRUE_CLIENT_IP", "HTTP_CF_CONNECTING_IP", "HTTP_X_CLIENT_IP", "HTTP_FASTLY_CLIENT_IP",
            "HTTP_X_CLUSTER_CLIENT_IP", "HTTP_CLIENT_IP", "HTTP_X_FORWARDED", "HTTP_FORWARDED_FOR",
            "HTTP_X_ORIGINAL_FORWARDED_FOR", "HTTP_X_ORIGINATING_IP", "HTTP_X_REMOTE_IP", "HTTP_X_REMOTE_ADDR")},
        "remote_addr": m.get("REMOTE_ADDR"),
        "host": request.get_host(),
        "is_secure": request.is_secure(),
    })


def reflect(request):
    """Answers the query's text verbatim: a body of the client's choosing,
    so tests can check every client got its own answer (and what a page
    that reflects its input does to a proxy that reuses connections)."""
    return HttpResponse(request.GET.get("text", ""), content_type="text/plain")


def slow(request):
    seconds = min(float(request.GET.get("seconds", "1")), 30.0)
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


def boom(request):
    raise RuntimeError("deliberate failure for the traceback leak test")


def requests_seen(request):
    count, paths = middleware.snapshot()
    return JsonResponse({"count": count, "paths": paths})


def search(request):
    """A site search box: the query goes to the ORM (parameterised SQL)."""
    from .models import Article

    q = request.GET.get("q", "")
    try:
        titles = [a.title for a in Article.objects.filter(title__icontains=q)[:10]] if q else []
    except Exception:  # the tables exist only where a test migrated them
        titles = []
    return JsonResponse({"q": q, "results": titles})


def comment(request):
    """A CSRF-protected form; answers with what Django parsed and the raw
    body's digest, so tests can check the body arrived byte for byte."""
    if request.method != "POST":
        return render(request, "login.html", {"error": False})
    raw = request.body
    fields = {k: request.POST.getlist(k) for k in request.POST if k != "csrfmiddlewaretoken"}
    return JsonResponse({"fields": fields, "sha256": hashlib.sha256(raw).hexdigest(), "length": len(raw)})


# What MySQLdb raises for a query built by string formatting, and what
# psycopg2 and Python's sqlite3 raise for the same mistake (raised here,
# whatever database the test app runs on).
DB_ERRORS = {
    "mysql": (1064, "You have an error in your SQL syntax; check the manual that corresponds to your "
                    "MySQL server version for the right syntax to use near ''' ORDER BY name' at line 1"),
    "postgres": ('syntax error at or near "\'"\nLINE 1: SELECT * FROM reports WHERE name = \'\'\' ORDER BY name\n', ),
    "sqlite": ('near "ORDER": syntax error', ),
}


@gzip_page
def report(request):
    """A careless view: a bare except that shows the database's error
    (gzipped when the client accepts it); with ?via=template, through a
    template, which HTML-escapes it."""
    intro = "<p>Monthly timetable report for all stations.</p>" * 10
    try:
        raise ProgrammingError(*DB_ERRORS[request.GET.get("db", "mysql")])
    except Exception as e:
        if request.GET.get("via") == "template":
            page = Template("<html><body><h1>Report</h1>{{ intro|safe }}<p>Could not load the report: {{ error }}</p></body></html>")
            return HttpResponse(page.render(Context({"intro": intro, "error": e})))
        return HttpResponse("<html><body><h1>Report</h1>%s<p>Could not load the report: %s</p></body></html>" % (intro, e))


def download(request):
    """A large streamed download (no Content-Length): lines of text, one
    piece per line, or ?batch=n lines per piece (the app then sends
    megabytes in milliseconds rather than seconds)."""
    lines = int(request.GET.get("lines", "100000"))
    batch = int(request.GET.get("batch", "1"))
    content_type = request.GET.get("type", "text/plain")

    def rows():
        for start in range(0, lines, batch):
            yield "".join("%08d,union station,O'Brien,select * from timetable\n" % i
                          for i in range(start, min(start + batch, lines)))

    return StreamingHttpResponse(rows(), content_type=content_type)


@gzip_page
def article(request):
    """An HTML page gzipped by Django when the client accepts it."""
    paragraphs = "".join("<p>Paragraph %d: the 8:15 from union station runs on Sundays.</p>\n" % i for i in range(400))
    return HttpResponse("<!doctype html><html><body><h1>Timetable</h1>%s</body></html>" % paragraphs)


def boom_big(request):
    """Fails deep in a recursion with a big local in every frame: with
    DEBUG on, Django's page for it is some 300 KB, the traceback and the
    settings far past the first 64 KB. ?value=big puts a 100 KB message
    in the exception, ahead of the "Django Version" row."""
    payload = "a local variable that fills the page " * 100  # 3.7 KB: Django cuts each at 4 KB
    message = "deliberate failure deep down"
    if request.GET.get("value") == "big":
        message += " " + "x" * 100000

    def dig(depth, payload):
        if depth == 0:
            raise RuntimeError(message)
        return dig(depth - 1, payload)

    dig(30, payload)


@gzip_page
def careless(request):
    """An ordinary 300 KB page that shows, some 200 KB in, the traceback of
    an error it caught (?leak=secret: a database URL with its password
    instead). Gzipped when the client accepts it."""
    import traceback

    try:
        raise ValueError("the careless view's own failure")
    except ValueError:
        leak = "<pre>%s</pre>" % traceback.format_exc()
    if request.GET.get("leak") == "secret":
        leak = "<p>DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app</p>"
    line = "<p>An ordinary line of an ordinary long page, number %d.</p>\n"
    before = "".join(line % i for i in range(3500))
    after = "".join(line % i for i in range(3500, 5500))
    return HttpResponse("<!doctype html><html><body>%s%s%s</body></html>" % (before, leak, after))


@csrf_exempt
def encoded(request):
    """Answers with the bytes of the form field b64, labelled with the
    Content-Encoding the field ce64 names: an app that sends an encoding
    whatever the client asked for. (Both in base64: binary bytes, or
    "gzip, gzip", would look like an attack to the WAF.)"""
    import base64

    body = base64.b64decode(request.POST.get("b64", ""))
    resp = HttpResponse(body, content_type="text/plain")
    resp["Content-Encoding"] = base64.b64decode(request.POST.get("ce64", "")).decode()
    return resp


def accept_encoding(request):
    """What the app was told the client accepts."""
    return JsonResponse({"accept_encoding": request.META.get("HTTP_ACCEPT_ENCODING")})


def csp_page(request):
    """A page that breaks Parapet's starter CSP as ordinary templates do:
    an inline script, style= attributes (?styles=N, default 3), an inline
    event handler, an image from another origin. Being report-only, the
    policy blocks none of it: the last inline script loads
    /whoami/?csp-page-done=ID once the page has been parsed. ?own=enforce
    or ?own=report sends the app's own policy instead."""
    styles = min(int(request.GET.get("styles", "3") or 3), 1000)
    page_id = request.GET.get("id", "")
    rows = "".join('<p style="color: #%03d">Row %d</p>\n' % (i % 1000, i) for i in range(styles))
    html = (
        "<!doctype html><html><head><title>CSP</title></head><body>\n"
        "<script>document.title = 'inline script ran';</script>\n"
        '<button onclick="alert(1)">inline handler</button>\n'
        '<img src="https://cdn.example.net/logo.png" alt="">\n'
        "%s"
        "<script>new Image().src = '/whoami/?csp-page-done=' + encodeURIComponent(%s);</script>\n"
        "</body></html>"
    ) % (rows, json.dumps(page_id))
    resp = HttpResponse(html)
    own = request.GET.get("own")
    if own == "enforce":
        resp["Content-Security-Policy"] = "default-src 'self' 'unsafe-inline'"
    elif own == "report":
        resp["Content-Security-Policy-Report-Only"] = "default-src 'self'; report-uri /app-csp-reports/"
    return resp
