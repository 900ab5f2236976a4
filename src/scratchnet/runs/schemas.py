"""One schema per kind of run file, and the checker that holds a parsed file to it.

A schema is plain data: a type (or tuple of types), `Opt(schema)` (None allowed), `ListOf`,
`MapOf` (str keys), `Obj(required, optional, extra)`, or a `Check` (a predicate and what it
wants). `validate(value, schema, where)` returns the value or raises `problem` with the path of
the first bad entry ("history.json: epochs[3].loss: expected a number; received 'x'"). It only
judges shapes and ranges; reading the bytes (and refusing FIFOs) is RunDir's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import RunFileError


@dataclass(frozen=True)
class Opt:
    """`schema`, or None."""

    schema: Any


@dataclass(frozen=True)
class ListOf:
    item: Any
    max_len: int | None = None


@dataclass(frozen=True)
class MapOf:
    """A JSON object with any string keys whose values all follow `value`."""

    value: Any


@dataclass(frozen=True)
class Obj:
    """A JSON object: `required` and `optional` keys with their schemas; other keys are
    refused unless `extra` (then kept unchecked)."""

    required: Mapping[str, Any] = field(default_factory=dict)
    optional: Mapping[str, Any] = field(default_factory=dict)
    extra: bool = False


@dataclass(frozen=True)
class Check:
    """A leaf checked by `test(value) -> bool`; `wants` says what it expects, in words."""

    test: Callable[[Any], bool]
    wants: str


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Any int or float (not a bool); NaN and infinities allowed (a diverged epoch's loss).
NUMBER = Check(_is_number, "a number")
FINITE = Check(lambda v: _is_number(v) and math.isfinite(v), "a finite number")
SHARE = Check(lambda v: _is_number(v) and 0 <= v <= 1, "a number from 0 to 1")
WHOLE = Check(
    lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"
)
COUNT = Check(
    lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer >= 1"
)
TEXT = Check(lambda v: isinstance(v, str), "a string")
FLAG = Check(lambda v: isinstance(v, bool), "true or false")
ANY = Check(lambda v: True, "anything")

_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(where: str, wants: str, value: Any) -> RunFileError:
    return RunFileError(f"{where.rstrip(':')}: expected {wants}; received {_show(value)}")


def _child(where: str, key: Any) -> str:
    """'run/config.json:' + 'hidden' -> 'run/config.json: hidden'; 'a' + 'b' -> 'a.b'."""
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def validate(value: Any, schema: Any, where: str) -> Any:
    """`value` if it follows `schema`, else RunFileError naming `where` and the bad entry.
    `where` is the file ('run/summary.json:', with its colon) or a place in it."""
    if isinstance(schema, Check):
        if not schema.test(value):
            raise _fail(where, schema.wants, value)
    elif isinstance(schema, Opt):
        if value is not None:
            validate(value, schema.schema, where)
    elif isinstance(schema, ListOf):
        if not isinstance(value, list):
            raise _fail(where, "a list", value)
        if schema.max_len is not None and len(value) > schema.max_len:
            raise RunFileError(
                f"{where.rstrip(':')}: more than {schema.max_len} entries ({len(value)})"
            )
        for index, item in enumerate(value):
            validate(item, schema.item, f"{where}[{index}]")
    elif isinstance(schema, MapOf):
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        for key, item in value.items():
            validate(item, schema.value, _child(where, key))
    elif isinstance(schema, Obj):
        _validate_object(value, schema, where)
    elif isinstance(schema, type | tuple):
        if not isinstance(value, schema) or (
            isinstance(value, bool) and bool not in _types(schema)
        ):
            raise _fail(where, _NAMES.get(schema, str(schema)), value)
    else:  # pragma: no cover - a mistake in a schema below
        raise TypeError(f"not a schema: {schema!r}")
    return value


def _types(schema: type | tuple) -> tuple:
    return schema if isinstance(schema, tuple) else (schema,)


def _validate_object(value: Any, schema: Obj, where: str) -> None:
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    missing = [key for key in schema.required if key not in value]
    if missing:
        raise RunFileError(f"{where.rstrip(':')}: missing {', '.join(map(repr, missing))}")
    known = {**schema.required, **schema.optional}
    unknown = [key for key in value if key not in known]
    if unknown and not schema.extra:
        raise RunFileError(
            f"{where.rstrip(':')}: unknown entr{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown[:5]))}"
        )
    for key, item_schema in known.items():
        if key in value:
            validate(value[key], item_schema, _child(where, key))


# -- the schemas of a run folder's files --------------------------------------------------
FINDING = Obj(
    {"title": TEXT, "evidence": TEXT, "fix": TEXT},
    optional={"kind": TEXT, "role": TEXT, "severity": NUMBER, "layer": ANY, "settings": ANY},
    extra=True,
)
DIAGNOSIS = Obj(
    {"findings": ListOf(FINDING)},
    optional={
        "subject": TEXT,
        "healthy": FLAG,
        "diverged": Opt(TEXT),
        "test_accuracy": Opt(SHARE),
        "n_classes": Opt(COUNT),
        "records": ListOf(Obj({}, optional={"layers": ListOf(dict)}, extra=True)),
    },
    extra=True,
)

TRIAL = Obj(
    {
        "trial": TEXT,
        "setting": TEXT,
        "params": dict,
        "status": TEXT,
    },
    optional={
        "config": dict,
        "index": WHOLE,
        "repeat": WHOLE,
        "seed": WHOLE,
        "error": Opt(TEXT),
        "val_accuracy": Opt(SHARE),
        "val_loss": Opt(NUMBER),
        "accuracy": Opt(SHARE),
        "loss": Opt(NUMBER),
        "epochs": WHOLE,
        "seconds": Opt(NUMBER),
        "worker": Opt(TEXT),
        "history": ListOf(dict),
    },
    extra=True,
)

WINNER = Obj(
    {"trial": TEXT, "params": dict, "config": dict, "seed": WHOLE, "val_accuracy": SHARE},
    optional={
        "setting": TEXT,
        "test": Opt(Obj({"accuracy": SHARE}, optional={"loss": NUMBER}, extra=True)),
        "command": Opt(TEXT),
        "run_dir": TEXT,
    },
    extra=True,
)
SUMMARY = Obj(
    {},
    optional={
        "metric": Check(
            lambda v: v in ("val_accuracy", "val_loss", "accuracy", "loss"), "a metric's name"
        ),
        "params": ListOf(TEXT),
        "labels": MapOf(TEXT),
        "trials": ListOf(TEXT),
        "ran": WHOLE,
        "reused": WHOLE,
        "wall_seconds": NUMBER,
        "workers": Opt(WHOLE),
        "executor": Opt(TEXT),
        "settings": ListOf(dict),
        "winner": Opt(WINNER),
        "kind": TEXT,
        "repeats": COUNT,
        "base": dict,
        "space": dict,
    },
    extra=True,
)

#: The settings of a saved run: its TrainConfig's fields (checked by TrainConfig itself).
CONFIG = MapOf(ANY)


def check_history_rows(rows: Any, where: str) -> list[dict[str, Any]]:
    """A History's rows: a list of objects, each with epoch (an integer >= 1) and numbers."""
    validate(rows, ListOf(dict), where)
    for index, row in enumerate(rows):
        here = f"{where}[{index}]"
        validate(row.get("epoch"), COUNT, f"{here}.epoch")
        for key, value in row.items():
            if value is not None:
                validate(value, NUMBER, f"{here}.{key}")
    return rows
