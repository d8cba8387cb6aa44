"""From `--config` and `--profile` to a session: the profile, its write policy, the adapters that
serve its brokers, and `connected`, which opens one of them within the broker's timeout.

The UI and the CLI both start here, so the demo profile, secret registration, the write policy and
connection timeouts behave the same in the console and on the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mqtui import secrets
from mqtui.brokers import ADAPTERS, AdapterRegistry
from mqtui.brokers.base import BrokerAdapter
from mqtui.config import DEMO_PROFILE, BrokerConfig, Config, Profile, load_config, permission_warning, secrets_of
from mqtui.errors import BrokerUnavailable, ConfigError
from mqtui.services.policy import WritePolicy

if TYPE_CHECKING:
    from mqtui.demo import DemoRun


@dataclass(frozen=True)
class Session:
    """A chosen profile with everything needed to reach its brokers."""

    name: str
    profile: Profile
    config: Config
    config_path: Path
    notices: tuple[str, ...] = ()
    demo: DemoRun | None = field(default=None, compare=False)
    """The demo's running brokers when this session started them (stopped when the session ends)."""
    adapters: AdapterRegistry = field(default=ADAPTERS, compare=False)
    """Which adapter serves each broker kind: the real ones, or fakes in look tests."""

    def broker(self, name: str) -> BrokerConfig:
        return self.profile.broker(name)

    def brokers(self, only: str | None = None) -> list[BrokerConfig]:
        return [self.broker(only)] if only else list(self.profile.brokers)

    @property
    def policy(self) -> WritePolicy:
        """The profile's write rules (readonly, production) for the gateway, the CLI and the console."""
        return WritePolicy(self.name, readonly=self.profile.readonly, production=self.profile.production)

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()


def profile_names(config: Config) -> list[str]:
    names = list(config.profiles)
    if DEMO_PROFILE not in names:
        names.append(DEMO_PROFILE)
    return names


def choose_profile_name(config: Config, requested: str | None) -> str:
    if requested:
        return requested
    if config.default_profile:
        return config.default_profile
    if len(config.profiles) == 1:
        return next(iter(config.profiles))
    if not config.profiles:
        return DEMO_PROFILE
    raise ConfigError(f"choose a profile with --profile (available: {', '.join(profile_names(config))})")


def open_session(config_path: str | Path | None, requested: str | None, *, own_demo: bool = False) -> Session:
    """Load the config and pick the profile; for `demo`, make sure the local brokers are running.

    `own_demo` (the console) starts demo brokers tied to this session; otherwise (CLI verbs) they are
    started detached so the next command finds them, and `mqtui demo stop` ends them.
    """
    config, path = load_config(config_path)
    name = choose_profile_name(config, requested)
    notices: list[str] = []
    if name in config.profiles:
        profile = config.profiles[name]
        notices.extend(filter(None, [permission_warning(path)]))
        notices.extend(profile.readonly_notices())
        demo = None
    elif name == DEMO_PROFILE:
        from mqtui import demo as demo_module

        running = demo_module.ensure_running(detached=not own_demo)
        profile = running.profile()
        notices.extend(running.notices())
        demo = running if running.owned else None
    else:
        raise ConfigError(f"unknown profile {name!r} (available: {', '.join(profile_names(config))}; config: {path})")
    for broker in profile.brokers:
        secrets.register(*secrets_of(broker))
    return Session(name, profile, config, path, tuple(notices), demo)


@contextlib.asynccontextmanager
async def connected(
    config: BrokerConfig, adapter: BrokerAdapter[Any] | None = None
) -> AsyncIterator[BrokerAdapter[Any]]:
    """`adapter` (by default a new one for `config`) connected within the broker's timeout, closed on
    exit whatever happens."""
    adapter = adapter if adapter is not None else ADAPTERS.create(config)
    try:
        try:
            await asyncio.wait_for(adapter.connect(), timeout=config.timeout + 1)
        except TimeoutError:
            raise BrokerUnavailable(
                f"{config.name}: no answer within {config.timeout:g}s (is the broker up at the configured url?)"
            ) from None
        yield adapter
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(adapter.close(), timeout=config.timeout + 1)
