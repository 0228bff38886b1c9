"""Every argument of a service method is checked against its annotation, as the API does.

msgspec checks types when the API decodes a request, but a library caller hands Python values
straight to the services: ``setup(id, "jq")`` would be read as the packages ``j`` and ``q``,
``control(app_id, "restart")`` would reach code that expects a ``ServiceAction``, and an id of
the wrong type would reach the database. ``typed_inputs`` wraps a service class's public
coroutine methods so such a value raises ``InvalidInput`` naming the parameter, before any
work starts. Values msgspec converts exactly (a known enum's value, a list for a sequence)
are passed on converted; structs are checked field by field (``check_types``).
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import msgspec

from pbdeployer.validation import Problems, check_types

C = TypeVar("C", bound=type)
_SEQUENCES = (list, collections.abc.Sequence)
_UNCHECKED = object()  # an annotation msgspec cannot check (a callback, a file object)


def typed_inputs(cls: C) -> C:
    """Wrap each public coroutine or async-generator method of ``cls`` with the checks."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not callable(member):
            continue
        if inspect.iscoroutinefunction(member):
            setattr(cls, name, _checked_coroutine(member))
        elif inspect.isasyncgenfunction(member):
            setattr(cls, name, _checked_generator(member))
    return cls


def _checked_coroutine(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def checked(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = _checked_arguments(method, args, kwargs)
        return await method(*args, **kwargs)

    return checked


def _checked_generator(method: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def checked(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        args, kwargs = _checked_arguments(method, args, kwargs)
        async for item in method(*args, **kwargs):
            yield item

    return checked


def _checked_arguments(
    method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The bound arguments, each converted to its annotation; ``InvalidInput`` if any can't."""
    signature, hints = _described(method)
    bound = signature.bind(*args, **kwargs)
    problems = Problems()
    for name, value in list(bound.arguments.items())[1:]:  # the first is ``self``
        kind = hints.get(name, _UNCHECKED)
        if kind is _UNCHECKED:
            continue
        if isinstance(value, msgspec.Struct):
            check_types(value)  # convert takes a struct as it is, without looking inside
        if isinstance(value, list | tuple) and get_origin(kind) in _SEQUENCES:
            item = get_args(kind)[0]
            items = [_converted(f"{name}[{i}]", v, item, problems) for i, v in enumerate(value)]
            bound.arguments[name] = items
        else:
            bound.arguments[name] = _converted(name, value, kind, problems)
    problems.raise_if_any()
    return bound.args, bound.kwargs


def _converted(field: str, value: Any, kind: Any, problems: Problems) -> Any:
    """``value`` as ``kind`` (strictly: ``True`` is no port), or a problem named ``field``."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        problems.add(field + path.rstrip("`"), reason)
        return value


@functools.cache
def _described(method: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, Any]]:
    """The method's signature and, per parameter, the annotation msgspec can check."""
    hints = get_type_hints(method)
    hints.pop("return", None)
    return inspect.signature(method), {
        name: kind for name, kind in hints.items() if _checkable(kind)
    }


def _checkable(kind: Any) -> bool:
    try:
        msgspec.convert(None, kind | None, strict=True)
    except TypeError:
        return False  # msgspec does not support the type (a callback, a file object)
    except msgspec.ValidationError:
        return True
    return True
