"""What Django 3.2 parses from multipart bodies: the real HttpRequest and
MultiPartParser, with Django's default settings and upload handlers.

Reads one JSON object a line on stdin, {"ct": Content-Type, "body": the
body in base64}, and answers each with a line
{"post": [[name, value], ...], "files": [[field, name, content in base64], ...]}
or {"error": "ExceptionType: message"} when Django fails on the body.

Also answers {"codec": name} with {"codec": codecs.lookup(name).name or null},
and {"unescape": s} with {"unescape": html.unescape(s)}.
"""
import base64
import codecs
import html
import io
import json
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    DEFAULT_CHARSET="utf-8",
    # The test app's limit; Django's default is 2.5 MB.
    DATA_UPLOAD_MAX_MEMORY_SIZE=5 * 1024 * 1024,
)
django.setup()

from django.core.handlers.wsgi import WSGIRequest  # noqa: E402


def parse(ct, body):
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": ct,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    try:
        request = WSGIRequest(environ)
        post = [[k, v] for k, vs in request.POST.lists() for v in vs]
        files = []
        for k, fs in request.FILES.lists():
            for f in fs:
                content = b"".join(f.chunks())
                files.append([k, f.name, base64.b64encode(content).decode()])
                f.close()
    except Exception as e:  # Django fails on the body: any answer will do
        return {"error": "%s: %s" % (type(e).__name__, e)}
    return {"post": post, "files": files}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        if "codec" in req:
            try:
                out = {"codec": codecs.lookup(req["codec"]).name}
            except LookupError:
                out = {"codec": None}
        elif "unescape" in req:
            out = {"unescape": html.unescape(req["unescape"])}
        else:
            out = parse(req["ct"], base64.b64decode(req["body"]))
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


main()
