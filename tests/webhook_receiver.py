"""A real HTTP receiver for the webhook tests: a threaded http.server on 127.0.0.1.

It records every request (path, headers, body) and answers per a script: the next N
requests get a 500, hang for a while, or redirect; after the script, 200.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Receiver", "Received"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """`with Receiver() as hook:` -- `hook.url`, `hook.script(...)`, `hook.requests`."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: list[str] = []
        self._lock = threading.Lock()
        self.release = threading.Event()  # ends every hang at once (test teardown)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                action = receiver._record(self.path, dict(self.headers.items()), body)
                receiver._answer(self, action)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def script(self, *actions: str) -> None:
        """Answers for the next requests: "500", "hang:<seconds>", "redirect", "200"."""
        with self._lock:
            self._script.extend(actions)

    def _record(self, path: str, headers: dict, body: bytes) -> str:
        with self._lock:
            self.requests.append(Received(path, headers, body))
            return self._script.pop(0) if self._script else "200"

    def _answer(self, handler: BaseHTTPRequestHandler, action: str) -> None:
        if action.startswith("hang:"):
            self.release.wait(float(action.split(":", 1)[1]))
            action = "200"
        try:
            if action == "redirect":
                handler.send_response(302)
                handler.send_header("Location", "http://127.0.0.1:9/elsewhere")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            status = int(action)
            reply = b"ok" if status < 300 else b"receiver says no"
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(reply)))
            handler.end_headers()
            handler.wfile.write(reply)
        except OSError:  # the client gave up on a hang
            pass

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
