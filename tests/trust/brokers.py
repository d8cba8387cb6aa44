"""Real brokers that demand credentials, each with a distinctive secret a test can search every output for.

Kafka is missing on purpose: tansu accepts no SASL credentials at all (it answers every mechanism
with "unsupported"), so Kafka secrets are tested with refused and unreachable brokers only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from mqtui.demo.localbrokers import LocalNats, LocalRabbitMQ, LocalRedis

REDIS_USER, REDIS_PASSWORD = "trust-ops", "Redis/Trust@S3cret%91"
"""Characters a URL must encode: the secret appears both plain and percent-encoded."""
NATS_USER, NATS_PASSWORD = "trust-ops", "Nats-Trust-S3cret-92"
NATS_TOKEN = "Nats-Trust-T0ken-93"
RABBIT_PASSWORD = "Rabbit-Trust-S3cret-94"
KAFKA_PASSWORD = "Kafka-Trust-S3cret-95"
WRONG = "Wrong-Trust-S3cret-96"
DOWN = "Down-Trust-S3cret-97"


class SecretRedis(LocalRedis):
    """redis-server with its default user off: only the ACL user REDIS_USER may connect."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        acl = self.workdir / "users.acl"
        acl.write_text(f"user default off\nuser {REDIS_USER} on >{REDIS_PASSWORD} ~* &* +@all\n")
        self._spawn([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(self.workdir), "--aclfile", str(acl)])  # fmt: skip

    def _ready(self) -> bool:
        import redis

        try:
            client = redis.Redis(port=self.port, username=REDIS_USER, password=REDIS_PASSWORD, socket_timeout=1)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, username=REDIS_USER, password=REDIS_PASSWORD)


class SecretNats(LocalNats):
    """nats-server with JetStream that accepts NATS_USER/NATS_PASSWORD only."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn([binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port),
                     "-sd", str(self.workdir / "jetstream"), "--user", NATS_USER, "--pass", NATS_PASSWORD])  # fmt: skip


class TokenNats(LocalNats):
    """nats-server that accepts the token NATS_TOKEN only."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn([binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port),
                     "--auth", NATS_TOKEN])  # fmt: skip


@dataclass(frozen=True)
class RabbitUser:
    name: str
    password: str


def add_rabbit_user(server: LocalRabbitMQ, password: str = RABBIT_PASSWORD) -> RabbitUser:
    """A user of its own on the shared broker (administrator: the management API must answer it)."""
    user = RabbitUser(f"trust-{uuid.uuid4().hex[:8]}", password)
    server.ctl("add_user", user.name, user.password)
    server.ctl("set_user_tags", user.name, "administrator")
    server.ctl("set_permissions", "-p", "/", user.name, ".*", ".*", ".*")
    return user
