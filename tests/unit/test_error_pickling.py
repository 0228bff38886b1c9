"""Errors as a library user handles them: pickled across processes, shown by repr."""

from __future__ import annotations

import inspect
import pickle

import pytest

import pbdeployer
from pbdeployer import (
    DataDirLocked,
    DeploymentLocked,
    FieldProblem,
    InvalidInput,
    PbDeployerError,
    RunTimeout,
)

SAMPLES: list[PbDeployerError] = [
    InvalidInput([FieldProblem(field="port", reason="must be an integer")]),
    DeploymentLocked("app 'a' is being deployed by deployment 'd1'", holder="d1"),
    RunTimeout("the run went quiet", host="web1", task="Install packages"),
    DataDirLocked("held", pid=42),
    PbDeployerError("custom", code="custom_code"),
]


def _every_error_class() -> list[type[PbDeployerError]]:
    return [
        value
        for name in pbdeployer.__all__
        if inspect.isclass(value := getattr(pbdeployer, name))
        and issubclass(value, PbDeployerError)
    ]


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling_with_every_field(error):
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert type(copy) is type(error)
    assert (copy.args, copy.code, vars(copy)) == (error.args, error.code, vars(error))


def test_every_public_error_class_pickles():
    classes = _every_error_class()
    assert len(classes) >= 15
    for cls in classes:
        error = cls.__new__(cls)
        PbDeployerError.__init__(error, f"a {cls.__name__}")
        assert repr(pickle.loads(pickle.dumps(error))) == repr(error)  # noqa: S301


def test_repr_shows_the_code_and_the_details():
    text = repr(SAMPLES[0])
    assert text.startswith("InvalidInput(")
    assert "code='validation_failed'" in text
    assert "field='port'" in text
    assert "holder='d1'" in repr(SAMPLES[1])
    assert "host='web1'" in repr(SAMPLES[2])
    assert "task='Install packages'" in repr(SAMPLES[2])
