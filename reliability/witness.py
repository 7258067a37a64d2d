"""A loopback TCP relay between the gateway and DynamoDB Local that witnesses acknowledgements.

The durability run points the gateway's SDK at this relay instead of at DynamoDB Local. It
forwards bytes both ways unchanged and parses just enough HTTP/1.1 to pair each request with
its response on a connection; for every `TransactWriteItems` that DynamoDB Local answered
200 — and whose answer was fully passed on to the gateway — it records the supervisor
request ids the transaction wrote (`REQUEST#<id>` sort keys) and when.

So when a create acknowledged with 201 is missing after a crash, the run can tell
- the store acknowledged the write and then lost it (DynamoDB Local's problem), from
- the service acknowledged a write the store never acknowledged (the service's bug).

While DynamoDB Local is down the relay stops listening (`pause`), so the gateway sees
"connection refused", exactly as without the relay; `resume` listens again on the same port.
Standard library only.
"""

from __future__ import annotations

import re
import socket
import threading
import time

REQUEST_ID = re.compile(rb"REQUEST#([0-9A-HJKMNP-TV-Z]{26})")


class _Http1Stream:
    """Incremental HTTP/1.1 message splitter (Content-Length or chunked bodies)."""

    def __init__(self):
        self.buffer = bytearray()
        self.broken = False

    def feed(self, data: bytes):
        """Yields (start_line, headers, body) for every complete message."""
        if self.broken:
            return
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            start = end + 4
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body_end, body = self._chunked(start)
                if body_end is None:
                    return
            else:
                try:
                    length = int(headers.get("content-length", "0"))
                except ValueError:
                    self.broken = True
                    return
                if len(self.buffer) < start + length:
                    return
                body, body_end = bytes(self.buffer[start:start + length]), start + length
            del self.buffer[:body_end]
            yield head[0], headers, body

    def _chunked(self, at: int):
        body = bytearray()
        for _ in range(100000):
            line_end = self.buffer.find(b"\r\n", at)
            if line_end < 0:
                return None, None
            try:
                size = int(bytes(self.buffer[at:line_end]).split(b";")[0], 16)
            except ValueError:
                self.broken = True
                return None, None
            at = line_end + 2
            if size == 0:
                trailer_end = self.buffer.find(b"\r\n\r\n", at - 2)
                if trailer_end < 0:
                    return None, None
                return trailer_end + 4, bytes(body)
            if len(self.buffer) < at + size + 2:
                return None, None
            body += self.buffer[at:at + size]
            at += size + 2
        self.broken = True
        return None, None


class WitnessProxy:
    def __init__(self, listen_port: int, upstream_port: int, host: str = "127.0.0.1"):
        self.host = host
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.acknowledged = {}  # request id -> monotonic time its 200 reached the gateway
        self.transactions_ok = 0
        self.unparsed_connections = 0
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- life cycle --

    def resume(self) -> None:
        """Listens (again) on the same port."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.listen_port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._accept_thread = threading.Thread(target=self._accept, args=(listener,), name="witness-accept", daemon=True)
        self._accept_thread.start()

    start = resume

    def pause(self) -> None:
        """Stops listening and drops every open connection (the store is down)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        with self.lock:
            connections = list(self._connections)
            self._connections.clear()
        for s in connections:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    close = pause

    # -- relaying --

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                downstream, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection((self.host, self.upstream_port), timeout=2)
            except OSError:
                downstream.close()
                continue
            for s in (downstream, upstream):
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self._connections.update((downstream, upstream))
            pending: list[tuple[str, bytes]] = []
            threading.Thread(target=self._requests, args=(downstream, upstream, pending), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, downstream, pending), daemon=True).start()

    def _drop(self, *sockets: socket.socket) -> None:
        with self.lock:
            for s in sockets:
                self._connections.discard(s)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _requests(self, source, sink, pending) -> None:
        stream = _Http1Stream()
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                # Parse before forwarding, so the request is queued before its answer can come.
                for start, headers, body in stream.feed(data):
                    target = headers.get("x-amz-target", "")
                    with self.lock:
                        pending.append((target, body))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            if stream.broken:
                with self.lock:
                    self.unparsed_connections += 1
            self._drop(source, sink)

    def _responses(self, source, sink, pending) -> None:
        stream = _Http1Stream()
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)  # passed on to the gateway first; then witnessed
                for start, headers, body in stream.feed(data):
                    parts = start.split()
                    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                    if 100 <= status < 200:
                        continue
                    with self.lock:
                        target, request_body = pending.pop(0) if pending else ("", b"")
                        if status == 200 and target.endswith(".TransactWriteItems"):
                            self.transactions_ok += 1
                            now = time.monotonic()
                            for match in REQUEST_ID.finditer(request_body):
                                self.acknowledged.setdefault(match.group(1).decode(), now)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def acknowledged_at(self, request_id: str) -> float | None:
        with self.lock:
            return self.acknowledged.get(request_id)
