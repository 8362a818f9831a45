"""Exit 0 when the service answers /healthz (the HEALTHCHECK and the probes run this)."""

import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=2) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError:
    sys.exit(1)
