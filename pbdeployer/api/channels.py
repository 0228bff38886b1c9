"""Task events fanned out through Litestar's channels plugin (memory backend by default).

``ChannelsPublisher`` meets the ``Publisher`` protocol of ``pbdeployer.events`` structurally,
so the event log publishes through the plugin while ``events`` stays free of Litestar. A Redis
or PostgreSQL channels backend would carry the same topics between processes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.app import AppConfig

log: logging.Logger = logging.getLogger(__name__)


class EventChannels(ChannelsPlugin):
    """The channels plugin, started before and stopped after the app's other lifespans.

    The task queue publishes from the deployer's lifespan: recovery at start-up and the final
    events of tasks cancelled at shutdown. The plugin must be running the whole time.
    """

    def __init__(self, backend: ChannelsBackend | None = None) -> None:
        super().__init__(backend or MemoryChannelsBackend(), arbitrary_channels_allowed=True)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config = super().on_app_init(app_config)
        app_config.lifespan.remove(self)
        app_config.lifespan.insert(0, self)
        return app_config


class ChannelsSubscription:
    def __init__(self, plugin: ChannelsPlugin, subscriber: Subscriber, topics: Sequence[str]):
        self._plugin = plugin
        self._subscriber = subscriber
        self._topics = list(topics)
        self._previous: bytes | None = None

    async def messages(self) -> AsyncIterator[bytes]:
        """The subscriber's stream; one publish reaches it once even through several topics.

        The plugin delivers a message once per channel, one channel right after the other. An
        encoded event is unique (task id and ``seq``), so a repeat of the message just before
        is the same publish arriving through another subscribed topic.
        """
        async for data in self._subscriber.iter_events():
            if data == self._previous:
                continue
            self._previous = data if len(self._topics) > 1 else None
            yield data

    async def close(self) -> None:
        await self._plugin.unsubscribe(self._subscriber, self._topics)


class ChannelsPublisher:
    """``Publisher`` over a channels plugin: ``publish`` only queues, so it never waits."""

    def __init__(self, plugin: ChannelsPlugin) -> None:
        self.plugin = plugin

    def publish(self, data: bytes, topics: Sequence[str]) -> None:
        try:
            self.plugin.publish(data, list(topics))
        except RuntimeError:  # the plugin is not running: no one can be subscribed either
            log.debug("channels not running; an event for %s was not fanned out", topics)

    async def subscribe(self, topics: Sequence[str]) -> ChannelsSubscription:
        subscriber = await self.plugin.subscribe(list(topics))
        return ChannelsSubscription(self.plugin, subscriber, topics)
