"""Task events fanned out through Litestar's channels plugin, as the API runs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pbdeployer.api import create_app
from pbdeployer.api.channels import ChannelsPublisher, ChannelsSubscription, EventChannels
from pbdeployer.deployer import Deployer
from pbdeployer.events import Publisher, Subscription
from pbdeployer.settings import Settings


@pytest.fixture
async def publisher() -> AsyncIterator[ChannelsPublisher]:
    plugin = EventChannels()
    async with plugin:
        yield ChannelsPublisher(plugin)


async def received(subscription: Subscription, count: int) -> list[bytes]:
    messages = subscription.messages()
    return [await asyncio.wait_for(anext(messages), 2) for _ in range(count)]


async def nothing_more(subscription: Subscription) -> bool:
    try:
        await asyncio.wait_for(anext(subscription.messages()), 0.2)
    except TimeoutError:
        return True
    return False


async def test_each_subscriber_gets_each_message_once_in_order(
    publisher: ChannelsPublisher,
) -> None:
    both = await publisher.subscribe(["a", "b"])
    one = await publisher.subscribe(["b"])
    other = await publisher.subscribe(["c"])
    for n in range(20):
        publisher.publish(f"m{n}".encode(), ["a", "b"])
    publisher.publish(b"only c", ["c", "nobody"])

    expected = [f"m{n}".encode() for n in range(20)]
    assert await received(both, 20) == expected
    assert await nothing_more(both)
    assert await received(one, 20) == expected
    assert await received(other, 1) == [b"only c"]


async def test_closing_a_subscription_stops_its_messages(publisher: ChannelsPublisher) -> None:
    gone = await publisher.subscribe(["a"])
    kept = await publisher.subscribe(["a"])
    await gone.close()
    publisher.publish(b"after", ["a"])
    assert await received(kept, 1) == [b"after"]
    assert [m async for m in gone.messages()] == []  # its stream has ended


async def test_publishing_never_waits_nor_fails_when_stopped() -> None:
    plugin = EventChannels()
    publisher: Publisher = ChannelsPublisher(plugin)  # it meets the events protocol
    publisher.publish(b"before start", ["a"])  # dropped: nobody can be subscribed yet
    async with plugin:
        subscription = await publisher.subscribe(["a"])
        assert isinstance(subscription, ChannelsSubscription)
        publisher.publish(b"live", ["a"])
        assert await received(subscription, 1) == [b"live"]
    publisher.publish(b"after stop", ["a"])


def test_the_app_publishes_through_channels_that_outlive_the_deployer(
    settings: Settings,
) -> None:
    deployer = Deployer.open(settings)
    app = create_app(settings, deployer=deployer, token="t" * 32)
    channels = [plugin for plugin in app.plugins.init if isinstance(plugin, EventChannels)]
    assert len(channels) == 1
    assert isinstance(deployer.publisher, ChannelsPublisher)
    assert deployer.publisher.plugin is channels[0]
    assert deployer.event_log.publisher is deployer.publisher
    # Entered first, left last: the queue publishes while it starts and while it stops.
    assert app._lifespan_managers[0] is channels[0]
