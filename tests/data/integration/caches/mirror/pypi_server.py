"""Serve <root>/pypi on 127.0.0.1:8000 with PyPI's cache headers, so pip caches the wheel."""

import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=365000000, immutable, public")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


handler = functools.partial(Handler, directory=sys.argv[1])
http.server.ThreadingHTTPServer(("127.0.0.1", 8000), handler).serve_forever()
