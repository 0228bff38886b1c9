"""The HTTP API: the only package that imports Litestar."""

from pbdeployer.api.app import API_PREFIX, create_app, openapi_yaml

__all__ = ["API_PREFIX", "create_app", "openapi_yaml"]
