"""orders: a tiny HTTP service for the gatekeeper integration images. Logs go to stdout."""

import http.server
import importlib
import logging
import sys
from types import ModuleType

fastpath: ModuleType | None
try:
    fastpath = importlib.import_module("fastpath")  # the C extension the builder stage compiles
except ImportError:
    fastpath = None

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("orders")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok\n" if self.path == "/healthz" else b"orders\n"
        if fastpath is not None:
            body += fastpath.greet().encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s " + format, self.address_string(), *args)


if __name__ == "__main__":
    log.info("listening on :8080")
    http.server.ThreadingHTTPServer(("", 8080), Handler).serve_forever()
