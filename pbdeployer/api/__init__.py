"""The HTTP API: the only package that imports Litestar."""

from pbdeployer.api.app import API_PREFIX, create_app, openapi_yaml
from pbdeployer.api.asyncapi import asyncapi_document, asyncapi_yaml
from pbdeployer.api.events_doc import events_markdown

__all__ = [
    "API_PREFIX",
    "asyncapi_document",
    "asyncapi_yaml",
    "create_app",
    "events_markdown",
    "openapi_yaml",
]
