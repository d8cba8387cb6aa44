"""A minimal Confluent-compatible schema registry for the tests, on 127.0.0.1.

No registry server can be installed on the test machines (Confluent's, Karapace and Apicurio are in
none of the reachable package indexes), so this serves the REST endpoints confluent-kafka's
`SchemaRegistryClient` calls: registration (`POST /subjects/{s}/versions`), look-up
(`POST /subjects/{s}`), `GET /schemas/ids/{id}[/versions]`, `GET /subjects`, `GET /subjects/{s}/versions` and
`GET /subjects/{s}/versions/{v|latest}`. It stores schema text as the client sent it (Protobuf as the
base64 `FileDescriptorProto` that confluent-kafka registers, which a real registry also answers with
`?format=serialized`). It can be made slow, demand basic auth, or count requests per path so tests can
check that mqtui fetches each schema id once.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class _Stored:
    id: int
    subject: str
    version: int
    schema: str
    schema_type: str
    references: list[dict[str, Any]]

    def body(self, with_subject: bool = True) -> dict[str, Any]:
        answer: dict[str, Any] = {"id": self.id, "schema": self.schema, "schemaType": self.schema_type}
        if self.references:
            answer["references"] = self.references
        if with_subject:
            answer |= {"subject": self.subject, "version": self.version}
        return answer


@dataclass
class Registry:
    """The registry's state and its knobs; `url` once started."""

    url: str = ""
    delay: float = 0.0
    """Seconds every answer waits (a slow registry)."""
    credentials: tuple[str, str] | None = None
    """When set, every request without these basic-auth credentials gets 401."""
    requests: Counter[str] = field(default_factory=Counter)
    schemas: list[_Stored] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def register(self, subject: str, schema: str, schema_type: str, references: list[dict[str, Any]]) -> _Stored:
        with self.lock:
            for stored in self.schemas:
                if stored.schema == schema and stored.schema_type == schema_type and stored.subject == subject:
                    return stored
            versions = [s.version for s in self.schemas if s.subject == subject]
            same = next((s for s in self.schemas if s.schema == schema and s.schema_type == schema_type), None)
            schema_id = same.id if same else 1 + max((s.id for s in self.schemas), default=0)
            stored = _Stored(schema_id, subject, 1 + max(versions, default=0), schema, schema_type, references)
            self.schemas.append(stored)
            return stored

    def by_id(self, schema_id: int) -> _Stored | None:
        return next((s for s in self.schemas if s.id == schema_id), None)

    def versions(self, subject: str) -> list[_Stored]:
        return [s for s in self.schemas if s.subject == subject]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a slow answer: what the slow-registry tests do

        def _not_found(self, code: int, message: str) -> None:
            self._answer(404, {"error_code": code, "message": message})

        def _allowed(self) -> bool:
            if registry.credentials is None:
                return True
            expected = base64.b64encode(":".join(registry.credentials).encode()).decode()
            if self.headers.get("Authorization") == f"Basic {expected}":
                return True
            self._answer(401, {"error_code": 40101, "message": "Unauthorized"})
            return False

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/")
            registry.requests[f"{method} {path}"] += 1
            if registry.delay:
                threading.Event().wait(registry.delay)
            if not self._allowed():
                return
            body: dict[str, Any] = {}
            if method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
            query = parse_qs(parts.query)
            self._dispatch(method, path, body, query)

        def _dispatch(self, method: str, path: str, body: dict[str, Any], query: dict[str, list[str]]) -> None:
            if method == "GET" and (m := re.fullmatch(r"/schemas/ids/(\d+)", path)):
                stored = registry.by_id(int(m.group(1)))
                if stored is None:
                    return self._not_found(40403, "Schema not found")
                return self._answer(200, stored.body(with_subject=False))
            if method == "GET" and (m := re.fullmatch(r"/schemas/ids/(\d+)/versions", path)):
                found = [s for s in registry.schemas if s.id == int(m.group(1))]
                if not found:
                    return self._not_found(40403, "Schema not found")
                return self._answer(200, [{"subject": s.subject, "version": s.version} for s in found])
            if method == "GET" and path == "/subjects":
                return self._answer(200, sorted({s.subject for s in registry.schemas}))
            if m := re.fullmatch(r"/subjects/([^/]+)/versions", path):
                subject = unquote(m.group(1))
                if method == "POST":
                    stored = registry.register(
                        subject, body["schema"], body.get("schemaType", "AVRO"), body.get("references") or []
                    )
                    return self._answer(200, {"id": stored.id})
                versions = registry.versions(subject)
                if not versions:
                    return self._not_found(40401, "Subject not found")
                return self._answer(200, [s.version for s in versions])
            if method == "GET" and (m := re.fullmatch(r"/subjects/([^/]+)/versions/(\w+)", path)):
                versions = registry.versions(unquote(m.group(1)))
                if not versions:
                    return self._not_found(40401, "Subject not found")
                wanted = m.group(2)
                found = versions[-1] if wanted == "latest" else next(
                    (s for s in versions if str(s.version) == wanted), None
                )  # fmt: skip
                if found is None:
                    return self._not_found(40402, "Version not found")
                return self._answer(200, found.body())
            if method == "POST" and (m := re.fullmatch(r"/subjects/([^/]+)", path)):
                subject = unquote(m.group(1))
                for stored in registry.versions(subject):
                    if stored.schema == body.get("schema"):
                        return self._answer(200, stored.body())
                return self._not_found(40403, "Schema not found")
            return self._not_found(40400, f"no route {method} {path}")

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


def start_registry() -> Registry:
    """A registry serving on a free port of 127.0.0.1 until `stop()`."""
    registry = Registry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    server.daemon_threads = True
    registry.server = server
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, name="test-registry", daemon=True).start()
    return registry
