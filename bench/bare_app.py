"""The yardstick for ``bench/api.py``: a bare Litestar JSON endpoint, served like the API.

    python bench/bare_app.py PORT

One route, ``GET /api/v1/bare``, answering a small JSON object: no guard, no dependency, no
database. It runs under the same uvicorn settings as ``pbdeployer serve``
(``pbdeployer.cli.uvicorn_options``), so the ratio of the API's figures to this one's is
what the API's own work costs.
"""

from __future__ import annotations

import sys

import uvicorn
from litestar import Litestar, get

from pbdeployer.cli import uvicorn_options
from pbdeployer.settings import Settings


@get("/api/v1/bare")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[bare], debug=False)


def main() -> int:
    settings = Settings(host="127.0.0.1", port=int(sys.argv[1]))
    uvicorn.run(app, **uvicorn_options(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
