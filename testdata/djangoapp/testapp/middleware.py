"""Counts every request Django sees, so tests can prove a blocked request
never reached the app. gunicorn runs one worker process, so one list holds all."""
import threading

_lock = threading.Lock()
_paths = []
_count = 0


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        global _count
        if request.path != "/__requests__/":
            with _lock:
                _count += 1
                _paths.append(request.path)
                del _paths[:-1000]
        return self.get_response(request)


def snapshot():
    with _lock:
        return _count, list(_paths)
