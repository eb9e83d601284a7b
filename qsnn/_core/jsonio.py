"""Plain JSON values from what the package computes: one conversion for results, metrics and run records."""

from __future__ import annotations

import math
import os
from typing import Any, Mapping

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert numpy/torch scalars and arrays, tuples and paths into plain JSON types.

    Non-finite floats become ``None`` (JSON has no NaN); mapping keys become strings.

    Raises
    ------
    TypeError
        For a value that has no JSON form (the message names its type).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    # numpy and torch without importing either: both offer .tolist() on scalars and arrays.
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return to_jsonable(tolist())
    raise TypeError(f"cannot store a value of type {type(value).__name__} in a results file; "
                    "convert it to a number, string, list or dict first")
