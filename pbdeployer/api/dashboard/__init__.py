"""The web dashboard: server-rendered pages under ``/ui`` calling the same services as the API.

Pages are Jinja templates; the only script follows a task over the API's WebSocket. Every asset
(styles, script, the API docs' Swagger UI) is served from the package, never from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from pbdeployer.api.dashboard.actions import ActionController
from pbdeployer.api.dashboard.guard import dashboard_guard, refused, to_login
from pbdeployer.api.dashboard.login import LoginController
from pbdeployer.api.dashboard.pages import PageController, domain_error_page
from pbdeployer.deployer import Deployer
from pbdeployer.errors import PbDeployerError

_HERE = Path(__file__).parent
STATIC_DIR = _HERE.parent / "static"
STATIC_PATH = "/static"
_HEADERS = [  # no inline script, no framing, no other site's assets or form targets
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=_HERE / "templates", engine=JinjaTemplateEngine)


@get("/", include_in_schema=False, opt={"public": True})
async def home() -> Redirect:
    return Redirect("/ui/", status_code=303)


def dashboard_routes(token: str, deployer: Deployer) -> list[ControllerRouterHandler]:
    """The ``/ui`` pages (behind the login cookie), ``/`` and the package's static files."""
    ui = Router(
        path="/ui",
        route_handlers=[LoginController, PageController, ActionController],
        guards=[dashboard_guard(token)],
        dependencies={
            "deployer": Provide(lambda: deployer, sync_to_thread=False),
            "token": Provide(lambda: token, sync_to_thread=False),
        },
        exception_handlers={
            NotAuthorizedException: to_login,
            PermissionDeniedException: refused,
            PbDeployerError: domain_error_page,
        },
        response_headers=_HEADERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH, directories=[STATIC_DIR], include_in_schema=False, opt={"public": True}
    )
    return [ui, home, static]
