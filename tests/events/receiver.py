"""A local webhook receiver for the tests: an HTTP server on 127.0.0.1 that answers from a script
of status codes (then 200), or never answers, and keeps every request it got."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    url: str
    script: list[int] = field(default_factory=list)  # status codes to answer first, then 200
    hang_seconds: float = 0.0  # > 0: sleep this long before answering (a receiver that never answers)
    delay_seconds: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered_ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.requests if 200 <= r.status < 300]


@contextmanager
def receiver(**options: object) -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if state.hang_seconds:  # the sender gave up long before: not an answer it saw
                time.sleep(state.hang_seconds)
                with state.lock:
                    state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body, 0))
                return
            if state.delay_seconds:
                time.sleep(state.delay_seconds)
            with state.lock:
                status = state.script.pop(0) if state.script else 200
                state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body, status))
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks", **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
