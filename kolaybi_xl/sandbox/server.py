"""The HTTP side of the sandbox (standard library only) and ``Sandbox``, which runs it.

The server speaks HTTP/1.1 with keep-alive, handles each connection in a daemon thread, answers
everything (also malformed requests) with the JSON error envelope, and writes nothing to stderr
unless ``verbose=True`` (then one line per request, with any ``api_key`` in the query redacted).
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from .app import API_PREFIX, Request, Response, SandboxApp, error
from .books import Books
from .faults import Faults
from .tokens import TokenStore

DEFAULT_CHANNEL = "sandbox-channel"
DEFAULT_API_KEY = "sandbox-demo-key"
MAX_BODY = 1 << 20
_SECRET_IN_QUERY = re.compile(r"(api_key=)[^&\s\"]*", re.IGNORECASE)


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real API behind nginx
    server_version = "KolayBiSandbox/1.0"
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    # Headers and body are two writes; with Nagle on, the second waits for the client's delayed
    # ACK (~40 ms per request on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self._send(error(exc.status, exc.message))
            return
        target = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(target.path),
            query=target.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        response = self.server.app.handle(request)
        if response.drop:  # fault: the work is done, the answer never comes
            self.close_connection = True
            return
        if response.delay:
            time.sleep(response.delay)
        self._send(response)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length", "").strip()
        if not length:
            return b""
        if not length.isdigit():
            raise _BodyError(400, "Geçersiz Content-Length.")
        if int(length) > MAX_BODY:
            raise _BodyError(413, "İstek gövdesi çok büyük.")
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        try:
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailers
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise _BodyError(413, "İstek gövdesi çok büyük.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        except ValueError:
            raise _BodyError(400, "Geçersiz chunked gövde.") from None

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", _with_charset(response.content_type))
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except OSError:  # the client went away (e.g. timed out during slow_after)
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get the JSON envelope too, never the stock HTML page."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unparsable request line: still send a status
            self.request_version = "HTTP/1.0"
        text = message or self.responses.get(code, ("Hata",))[0]
        self.log_error("code %d, message %s", code, text)
        self._send(error(code, text))

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            line = _SECRET_IN_QUERY.sub(r"\1***", format % args)
            sys.stderr.write(f"{self.address_string()} [{self.log_date_time_string()}] {line}\n")


def _with_charset(content_type: str) -> str:
    return content_type if "charset" in content_type else f"{content_type}; charset=utf-8"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], app: SandboxApp, *, verbose: bool, family: int
    ) -> None:
        self.address_family = family
        self.app = app
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can hang.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut open keep-alive connections so their handler threads end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            super().handle_error(request, client_address)


class Sandbox:
    """A local, stateful KolayBi API on ``url`` (see the package docstring for the contract)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        channel: str = DEFAULT_CHANNEL,
        api_key: str = DEFAULT_API_KEY,
        invoices: int = 300,
        seed: int = 1,
        token_lifetime: float = 86400.0,
        page_size: int | None = None,
        books: Books | None = None,
        latency: float = 0.0,
        detail_has_payment_plan: bool = True,
        faults: Faults | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.channel = channel
        self.api_key = api_key
        self.verbose = verbose
        self.books = books if books is not None else Books.seeded(invoices=invoices, seed=seed)
        self.faults = faults if faults is not None else Faults()
        if latency:
            self.faults.latency = latency
        self.tokens = TokenStore(token_lifetime, self.faults)
        self.app = SandboxApp(
            books=self.books,
            faults=self.faults,
            tokens=self.tokens,
            channel=channel,
            api_key=api_key,
            page_size=page_size,
            detail_has_payment_plan=detail_has_payment_plan,
        )
        if verbose:
            self.app.on_error = lambda exc: traceback.print_exception(exc, file=sys.stderr)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = False  # serve_forever() entered (in our thread or the caller's)
        self._lock = threading.RLock()

    # ---- addresses (binding happens on first use, so the port is known before start) -------

    @property
    def port(self) -> int:
        return int(self._bind().server_address[1])

    @property
    def root_url(self) -> str:
        """``http://host:port``: the control endpoints live under ``/_sandbox/``."""
        # a wildcard bind address is reachable through loopback
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(  # noqa: S104
            self.host, self.host
        )
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL, including ``/kolaybi/v1``."""
        return self.root_url + API_PREFIX

    @property
    def running(self) -> bool:
        return self._serving

    def _bind(self) -> _Server:
        with self._lock:
            if self._server is None:
                family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                self._server = _Server(
                    (self.host, self._port), self.app, verbose=self.verbose, family=family
                )
                self._port = int(self._server.server_address[1])  # a restart keeps the port
            return self._server

    # ---- life cycle -------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Serve in a daemon thread; returns at once. Starting a stopped sandbox again serves
        the same books, faults and tokens on the same port."""
        with self._lock:
            if self._serving:
                return self
            server = self._bind()
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"kolaybi-sandbox-{self._port}",
                daemon=True,
            )
            self._serving = True
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Block until ``stop()`` or Ctrl+C, then stop (for the command line). Serves in the
        calling thread, or, after ``start()``, waits for the serving thread."""
        with self._lock:
            thread = self._thread
            if thread is None:
                if self._serving:
                    raise RuntimeError("serve_forever() is already running")
                server = self._bind()
                self._serving = True
        try:
            if thread is not None:
                while thread.is_alive():
                    thread.join(0.2)  # a timeout keeps Ctrl+C deliverable
            else:
                server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, close the socket and open connections, join the thread. Idempotent."""
        with self._lock:
            server, thread, serving = self._server, self._thread, self._serving
            self._server, self._thread, self._serving = None, None, False
        if server is None:
            return
        if serving:
            server.shutdown()  # returns at once if serve_forever already ended
        if thread is not None:
            thread.join()
        server.close_connections()
        server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never the api key
        where = self.url if self._server is not None else "not bound"
        return (
            f"Sandbox(url={where!r}, channel={self.channel!r}, "
            f"invoices={len(self.books.invoices)}, running={self._serving})"
        )


__all__ = ["DEFAULT_API_KEY", "DEFAULT_CHANNEL", "Sandbox"]
