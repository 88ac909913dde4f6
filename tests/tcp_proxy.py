"""A loopback TCP proxy that a test controls, to put between the window and its database server:
it forwards bytes both ways until :meth:`TcpProxy.pause`, then holds what arrives (a request,
an answer) until :meth:`TcpProxy.resume`. How a test shows that the window goes on while a
request to a slow or stalled server is held.

A pause lets go by itself after ``release_after`` seconds: a safety valve, not a clock the test
reads, so that code that does wait on the UI thread is let go (and its test fails) instead of
hanging the suite.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    """Forwards connections made to ``127.0.0.1:port`` to ``target`` (host, port)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._valve: threading.Timer | None = None
        self._held = 0  # chunks read while paused and not forwarded yet
        self._closed = False
        self._start(self._accept, "test-proxy-accept")

    @classmethod
    @contextlib.contextmanager
    def in_front_of(cls, url: str) -> Iterator[tuple[TcpProxy, str]]:
        """A proxy in front of the server of the database ``url``, and the URL through it."""
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        proxy = cls((parts.hostname, parts.port))
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        try:
            yield proxy, urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
        finally:
            proxy.close()

    # --- what the test does ---

    def pause(self, release_after: float = 30.0) -> None:
        """Hold every byte from now on (both ways), until :meth:`resume` or ``release_after`` seconds."""
        self._flowing.clear()
        self._valve = threading.Timer(release_after, self.resume)
        self._valve.daemon = True
        self._valve.start()

    def resume(self) -> None:
        if self._valve is not None:
            self._valve.cancel()
        self._flowing.set()

    @property
    def holding(self) -> bool:
        """Whether bytes have arrived while paused and are held (a request or an answer waits)."""
        with self._lock:
            return self._held > 0

    def close(self) -> None:
        self._closed = True
        self.resume()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        for thread in self._threads:
            thread.join(5)

    # --- the proxy's threads ---

    def _start(self, target: object, name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            self._start(self._pump, "test-proxy-up", client, server)
            self._start(self._pump, "test-proxy-down", server, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if not self._flowing.is_set():
                    with self._lock:
                        self._held += 1
                    self._flowing.wait()
                    with self._lock:
                        self._held -= 1
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
