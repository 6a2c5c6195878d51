"""Small TCP helpers: free ports and listening checks."""

import re
import socket

_PASSWORD = re.compile(r"(?P<head>://[^/@:]*:)[^/@]*@")


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing is bound to right now (the kernel picks it).

    Another process may take it before the caller binds it; the servers started here
    check that nothing listens on it before they start.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redact_url(url: str) -> str:
    """The URL with its password, if any, replaced by `***` (any scheme, multi-host too)."""
    return _PASSWORD.sub(r"\g<head>***@", url, count=1)
