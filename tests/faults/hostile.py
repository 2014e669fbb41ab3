"""A hostile HTTP server on 127.0.0.1: scripted misbehaviour per path, at the socket level.

``LocalSite`` (tests/conftest.py) answers with well-formed replies; this server also hangs
before its headers, resets the connection mid-body, drips, streams without end and
serves bodies far beyond any cap, generating them as it goes so a 50 MB body costs no
memory here. Each path has a ``Behaviour`` or a list of them (one per request, the last
repeated); every request's path is recorded.
"""

import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

Behaviour = Callable[[BaseHTTPRequestHandler], None]
HTML = "text/html; charset=utf-8"


def _headers(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()


def _write(handler: BaseHTTPRequestHandler, data: bytes) -> bool:
    """Write and flush; False once the client has hung up."""
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
        return True
    except OSError:
        return False


def reply(status: int = 200, body: bytes = b"", content_type: str | None = HTML,
          headers: dict[str, str] | None = None) -> Behaviour:
    """A plain answer with a Content-Length."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        extra = {"Content-Type": content_type} if content_type else {}
        _headers(handler, status, {**extra, **(headers or {}),
                                   "Content-Length": str(len(body))})
        _write(handler, body)
    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    return reply(status, b"", None, {"Location": location})


def hang(seconds: float) -> Behaviour:
    """Accept the request, say nothing for ``seconds``, then hang up (a read timeout)."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        handler.close_connection = True
    return behave


def reset_mid_body(body: bytes, sent: int) -> Behaviour:
    """Promise ``len(body)`` bytes, send ``sent`` of them, then reset the connection (RST)."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        _headers(handler, 200, {"Content-Type": HTML, "Content-Length": str(len(body))})
        _write(handler, body[:sent])
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True
    return behave


def drip(body: bytes, every: float, piece: int = 16) -> Behaviour:
    """The body ``piece`` bytes at a time, ``every`` seconds apart (a slow-drip server)."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        _headers(handler, 200, {"Content-Type": HTML, "Content-Length": str(len(body))})
        for start in range(0, len(body), piece):
            if not _write(handler, body[start:start + piece]):
                return
            time.sleep(every)
    return behave


def _filler(size: int | None) -> Iterator[bytes]:
    """HTML-looking bytes, 64 KiB at a time, ``size`` in all (None: without end)."""
    block = (b"<p>" + b"filler text " * 5455 + b"</p>\n")[:65536]
    sent = 0
    while size is None or sent < size:
        piece = block if size is None else block[: min(len(block), size - sent)]
        yield piece
        sent += len(piece)


def huge(size: int) -> Behaviour:
    """A body of ``size`` bytes with an honest Content-Length, generated as it is sent."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        _headers(handler, 200, {"Content-Type": HTML, "Content-Length": str(size)})
        for piece in _filler(size):
            if not _write(handler, piece):
                return
    return behave


def endless_chunked() -> Behaviour:
    """A chunked body that never ends (until the client hangs up)."""
    def behave(handler: BaseHTTPRequestHandler) -> None:
        _headers(handler, 200, {"Content-Type": HTML, "Transfer-Encoding": "chunked"})
        for piece in _filler(None):
            if not _write(handler, b"%x\r\n%s\r\n" % (len(piece), piece)):
                return
    return behave


@dataclass
class HostileServer:
    """The running server: its base URL, routes and the paths it was asked for."""

    host: str = "127.0.0.1"
    port: int = 0
    routes: dict[str, Behaviour | list[Behaviour]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "") -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def route(self, path: str, behaviour: Behaviour | list[Behaviour]) -> str:
        """Answer ``path`` with ``behaviour``; returns its URL."""
        self.routes["/" + path.lstrip("/")] = behaviour
        return self.url(path)

    def count(self, path: str) -> int:
        return self.requests.count("/" + path.lstrip("/"))

    def _behaviour(self, path: str) -> Behaviour:
        with self._lock:
            served = self.requests.count(path)
            self.requests.append(path)
        # A route without a query also answers its path with any query (tracking tags).
        answer = self.routes.get(path, self.routes.get(path.split("?")[0]))
        if answer is None:
            return reply(404, b"not here", "text/plain")
        if isinstance(answer, list):
            return answer[min(served, len(answer) - 1)]
        return answer


def serve_hostile(host: str = "127.0.0.1") -> tuple[HostileServer, ThreadingHTTPServer]:
    """Start a HostileServer on an ephemeral port of ``host``."""
    site = HostileServer(host)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            # Matched unquoted: a client may percent-encode quotes and backslashes.
            site._behaviour(unquote(self.path))(self)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet; the paths are in ``site.requests``."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            """Clients hanging up on a hostile answer is the point, not an error."""
            if not isinstance(sys.exc_info()[1], OSError):
                super().handle_error(request, client_address)

    server = Server((host, 0), Handler)
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site, server
