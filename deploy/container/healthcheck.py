"""The image's HEALTHCHECK: GET a path of this container's own HTTP server, stdlib only.

    python /app/healthcheck.py [PATH]     # default /healthz; exit 0 on a 2xx answer, else 1

The port is HTTP_PORT (8080 in the image); HTTPS when TLS_CERT_FILE is set (the certificate
names the public host, not 127.0.0.1, so it is not verified here: this checks liveness only).
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    """Exit code 0 when the server answers the path with 2xx within 4 seconds."""
    path = argv[1] if len(argv) > 1 else "/healthz"
    port = os.environ.get("HTTP_PORT") or "8080"
    context = None
    scheme = "http"
    if os.environ.get("TLS_CERT_FILE"):
        scheme = "https"
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    url = f"{scheme}://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4, context=context) as response:  # noqa: S310 - http(s) to 127.0.0.1 only  # nosec B310
            return 0 if 200 <= response.status < 300 else 1
    except urllib.error.HTTPError as answer:
        answer.close()
        print(f"healthcheck: {url}: HTTP {answer.code}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as failure:
        print(f"healthcheck: {url}: {failure}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
