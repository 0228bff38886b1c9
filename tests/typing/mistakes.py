"""Mistakes a library user makes: mypy --strict and pyright strict must each report every
line that carries the marker comment, and no other line (see ``test_consumer_types.py``)."""

from __future__ import annotations

from pbdeployer import Deployer, RunEvent, ServerCreate, ServiceAction


def show(event: RunEvent) -> None:
    print(event.type)  # mistake: the tag is not an attribute


async def mistakes(deployer: Deployer) -> None:
    created = ServerCreate(name="web1", host="203.0.113.10", port="22")  # mistake
    server = await deployer.servers.create(created)
    print(server.port + "1")  # mistake: an int
    unawaited = deployer.servers.get(server.id)
    print(unawaited.name)  # mistake: a coroutine, not a Server
    page = await deployer.apps.list()
    print(page.items[0].nope)  # mistake: no such field
    await deployer.deployments.deploy(page.items[0].id)  # mistake: the version is missing
    await deployer.services.control(page.items[0].id, "restart")  # mistake: a ServiceAction
    await deployer.services.control(page.items[0].id, ServiceAction.RESTART)
    done = await deployer.deployments.wait("01JH8ZB3C4D5E6F7G8H9J0K1M2")
    seconds: float = done.duration_seconds  # mistake: None until it ended
    count: int = done.status  # mistake: an enum
    print(seconds, count)
