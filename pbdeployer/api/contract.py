"""The OpenAPI document as integrators' tools read it: Litestar's rendering, finished.

Each step fixes one class of what client generators and linters trip on, over the whole
document rather than route by route:

- generic component names carry module paths (``Page_pbdeployer.models.apps.App_``): they
  become ``AppPage``;
- Litestar drops every ``None`` while rendering examples, so a required nullable field
  vanishes from them: it comes back as ``null``, read from the example's own schema;
- ``UNSET`` fields render as one-branch ``oneOf``s: the branch replaces them;
- tagged unions get no ``discriminator``: it is added from each branch's constant tag;
- the error ``code`` is a free string: it becomes the enum of the codes the API sends;
- request fields carry none of the server's rules: ``REQUEST_RULES`` adds them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPI

from pbdeployer.api.rules import REQUEST_RULES

Json = dict[str, Any]
_REF_PREFIX = "#/components/schemas/"
_GENERIC = re.compile(r"^(?P<outer>\w+?)_(?:[\w.]+\.)?(?P<inner>\w+)_$")
_MEDIA_WITH_EXAMPLES = ("application/json",)
_SHAPING = {"type", "oneOf", "anyOf", "allOf", "enum", "const", "properties", "$ref"}


@dataclass
class FinishedOpenAPI(OpenAPI):
    """Litestar's OpenAPI object, rendered through ``finish``."""

    error_codes: tuple[str, ...] = ()

    @property
    def _exclude_fields(self) -> set[str]:
        return {"error_codes"}

    def to_schema(self) -> dict[str, Any]:
        return finish(super().to_schema(), self.error_codes)


@dataclass
class ContractConfig(OpenAPIConfig):
    """``OpenAPIConfig`` whose document is finished; ``error_codes`` become the code enum."""

    error_codes: tuple[str, ...] = ()

    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        values = {field.name: getattr(base, field.name) for field in fields(base)}
        return FinishedOpenAPI(**values, error_codes=self.error_codes)


def finish(document: Json, error_codes: tuple[str, ...]) -> Json:
    """Every fix above, in order; ``document`` is Litestar's rendering (a fresh dict)."""
    document = _renamed(document)
    document = _walk(document, _single_branch)
    named = document["components"]["schemas"]  # read-only from here: the walk copies
    document = _walk(document, lambda node: _discriminated(node, named))
    schemas = document["components"]["schemas"]
    if error_codes and "ErrorInfo" in schemas:
        schemas["ErrorInfo"]["properties"]["code"]["enum"] = sorted(set(error_codes))
    for name, rules in REQUEST_RULES.items():
        for field, constraints in rules.items():
            _constrain(schemas[name]["properties"][field], constraints)
    for schema, example in _examples(document):
        _restore_nulls(example, schema, schemas)
    return document


def _constrain(schema: Json, constraints: Json) -> None:
    """Add ``constraints`` to the schema's non-null branch (to the schema itself if it has one)."""
    branches = [b for b in schema.get("oneOf", []) if b.get("type") != "null"]
    target = branches[0] if len(branches) == 1 else schema
    assert target.get("type") in (constraints.get("type"), None) or "type" not in constraints
    target.update(copy.deepcopy(constraints))  # shared rules must not become shared nodes


def _walk(node: Any, fix: Callable[[Any], Any]) -> Any:
    """``fix`` applied bottom-up to every dict and list in ``node``."""
    if isinstance(node, dict):
        return fix({key: _walk(value, fix) for key, value in node.items()})
    if isinstance(node, list):
        return fix([_walk(value, fix) for value in node])
    return node


def _readable(name: str) -> str:
    """``Page_pbdeployer.models.apps.App_`` → ``AppPage``; plain names stay as they are."""
    match = _GENERIC.match(name)
    return f"{match['inner']}{match['outer']}" if match else name


def _renamed(document: Json) -> Json:
    names = {name: _readable(name) for name in document["components"]["schemas"]}
    assert len(set(names.values())) == len(names), f"component names collide: {names}"

    def fix(node: Any) -> Any:
        if isinstance(node, dict) and str(node.get("$ref", "")).startswith(_REF_PREFIX):
            node["$ref"] = _REF_PREFIX + names[node["$ref"].removeprefix(_REF_PREFIX)]
        if isinstance(node, dict) and isinstance(node.get("title"), str) and node["title"] in names:
            node["title"] = names[node["title"]]
        return node

    document = _walk(document, fix)
    schemas = document["components"]["schemas"]
    document["components"]["schemas"] = {names[k]: v for k, v in sorted(schemas.items())}
    return document


def _single_branch(node: Any) -> Any:
    """``{"oneOf": [X], ...}`` → ``X`` with the other keys kept."""
    if isinstance(node, dict) and isinstance(node.get("oneOf"), list) and len(node["oneOf"]) == 1:
        return node.pop("oneOf")[0] | node  # OpenAPI 3.1 allows keywords beside a $ref
    return node


def _tag_of(schema: Json) -> tuple[str, str] | None:
    """The (property, value) that alone tells this object schema apart, if it has one."""
    for name in schema.get("required", []):
        constant = schema.get("properties", {}).get(name, {}).get("const")
        if isinstance(constant, str):
            return name, constant
    return None


def _discriminated(node: Any, schemas: Json) -> Any:
    """A ``oneOf`` of references to objects tagged by the same property gets a discriminator."""
    branches = node.get("oneOf") if isinstance(node, dict) else None
    if not branches or not all("$ref" in b for b in branches) or "discriminator" in node:
        return node
    tags = [_tag_of(schemas.get(b["$ref"].removeprefix(_REF_PREFIX), {})) for b in branches]
    if None in tags or len({tag[0] for tag in tags if tag}) != 1:
        return node
    mapping = {tag[1]: b["$ref"] for tag, b in zip(tags, branches, strict=True) if tag}
    node["discriminator"] = {"propertyName": tags[0][0] if tags[0] else "", "mapping": mapping}
    return node


def _examples(document: Json) -> Iterator[tuple[Json, Any]]:
    """Every (schema, example value) pair in the document's bodies and components."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody", {})]
            bodies += list(operation.get("responses", {}).values())
            for body in bodies:
                for media_type, content in body.get("content", {}).items():
                    if media_type not in _MEDIA_WITH_EXAMPLES:
                        continue
                    schema = content.get("schema", {})
                    for example in content.get("examples", {}).values():
                        yield schema, example.get("value")
                    for value in schema.get("examples", []):
                        yield schema, value
    for schema in document["components"]["schemas"].values():
        for value in schema.get("examples", []):
            yield schema, value


def _resolved(schema: Json, schemas: Json) -> Json:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].removeprefix(_REF_PREFIX)]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        schema = _resolved(schema["allOf"][0], schemas)
    return schema


def _union(schema: Json) -> list[Json]:
    return list(schema.get("oneOf") or schema.get("anyOf") or [])


def _allows_null(schema: Json, schemas: Json) -> bool:
    schema = _resolved(schema, schemas)
    if schema.get("type") == "null" or "null" in (schema.get("type") or []):
        return True
    if not _SHAPING.intersection(schema):  # any value at all
        return True
    return any(_allows_null(b, schemas) for b in _union(schema))


def _branch_for(value: Any, schema: Json, schemas: Json) -> Json:
    """The one branch of a union that ``value`` belongs to (by its tag, else by its keys)."""
    branches = [_resolved(b, schemas) for b in _union(schema)]
    if not isinstance(value, dict):
        return next((b for b in branches if b.get("type") != "null"), schema)
    for branch in branches:
        tag = _tag_of(branch)
        known = set(branch.get("properties", {}))
        if (tag is None or value.get(tag[0]) == tag[1]) and known >= set(value):
            return branch
    return schema


def _restore_nulls(value: Any, schema: Json, schemas: Json) -> None:
    """Put back the ``null`` of each required nullable field missing from an example."""
    schema = _resolved(schema, schemas)
    if "oneOf" in schema or "anyOf" in schema:
        schema = _branch_for(value, schema, schemas)
    if isinstance(value, list) and "items" in schema:
        for item in value:
            _restore_nulls(item, schema["items"], schemas)
    if not isinstance(value, dict):
        return
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value and name in properties and _allows_null(properties[name], schemas):
            value[name] = None
    for name, item in value.items():
        if name in properties:
            _restore_nulls(item, properties[name], schemas)
        elif isinstance(schema.get("additionalProperties"), dict):
            _restore_nulls(item, schema["additionalProperties"], schemas)
