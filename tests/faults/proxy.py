"""A TCP proxy between the app's engine and PostgreSQL that a test can cut, mid-flight or at will.

- ``cut()``: the database "goes away": every open connection is closed and new ones are accepted and
  closed at once (as when the server is restarted or the network drops).
- ``restore()``: the database is back.
- ``cut_when(marker, occurrence=1)``: the n-th time a client sends bytes containing ``marker`` (for
  example ``b"COMMIT"``), the connection is dropped before they reach the server, and the proxy
  stays cut until ``restore()``.  This puts the failure exactly between the write and its commit.

Only 127.0.0.1 is involved; the threads are daemons and stop with ``close()``."""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class FaultyProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._down = False
        self._marker: bytes | None = None
        self._remaining = 0
        self.tripped = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="faulty-proxy", daemon=True)
        self._thread.start()

    # --- control --------------------------------------------------------------------------------

    def cut(self) -> None:
        with self._lock:
            self._down = True
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            _close(client)
            _close(server)

    def restore(self) -> None:
        with self._lock:
            self._down = False
            self._marker = None
        self.tripped.clear()

    def cut_when(self, marker: bytes, occurrence: int = 1) -> None:
        with self._lock:
            self._marker = marker
            self._remaining = occurrence
        self.tripped.clear()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        self._closing.set()
        self.cut()
        self._thread.join(timeout=2)
        _close(self._listener)

    # --- plumbing -------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                down = self._down
            if down:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        sockets = [client, server]
        try:
            while not self._closing.is_set():
                readable, _, _ = select.select(sockets, [], [], 0.2)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is client and self._should_trip(data):
                        self.tripped.set()
                        self.cut()
                        return
                    (server if source is client else client).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            _close(client)
            _close(server)
            with self._lock:
                if (client, server) in self._pairs:
                    self._pairs.remove((client, server))

    def _should_trip(self, data: bytes) -> bool:
        with self._lock:
            if self._marker is None or self._marker not in data:
                return False
            self._remaining -= 1
            if self._remaining > 0:
                return False
            self._marker = None
            return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
