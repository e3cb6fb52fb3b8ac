"""A WSGI app with no database or Redis behind it, for tests that start gunicorn itself."""


def app(environ, start_response):
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request-ID", "req-123"), ("Content-Length", "2")])
    return [body]
