"""A real HTTP(S) receiver on loopback for webhook delivery tests (unit and integration)."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A loopback HTTP receiver: answers the statuses in ``plan`` in turn (then 200), a 3xx
    with ``Location: location``; over https with ``tls`` (a certificate and key, e.g. from
    :class:`tests.tls_certs.TestCA`). It records every connection it accepts
    (``connections``: reached at all, whatever follows), every request of any method
    (``calls``) and the names clients asked for in TLS (``sni``)."""

    def __init__(self, plan=(), tls=None, location=None):
        self.plan = list(plan)
        self.calls: list[dict] = []
        self.connections = 0
        self.sni: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                receiver.calls.append({"method": self.command, "path": self.path, "body": body,
                                       "headers": {k.lower(): v for k, v in self.headers.items()}})  # fmt: skip
                status = receiver.plan.pop(0) if receiver.plan else 200
                self.send_response(status)
                if 300 <= status < 400 and location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = do_HEAD = answer  # noqa: N815

            def log_message(self, *args):
                pass

        context = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls.cert, tls.key)
            context.sni_callback = lambda sock, name, ctx: receiver.sni.append(name)

        class Server(ThreadingHTTPServer):
            def get_request(self):
                sock, address = self.socket.accept()
                receiver.connections += 1
                if context is not None:  # the handshake in the request's thread, on first read
                    sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, address

            def handle_error(self, request, client_address):
                pass  # a refused handshake: the client's verdict is what the tests look at

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
