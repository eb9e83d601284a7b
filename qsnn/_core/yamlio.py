"""The one reader of YAML for the package: configuration files, parameter files and ``--set`` values.

PyYAML follows YAML 1.1, where ``1e-3`` (no dot) is a string; YAML 1.2, and every reader of a
configuration, takes it as a number. The loader below adds YAML 1.2's float rule, so a file, a
``--set lr=1e-3`` of ``python -m qsnn.train`` and a ``--set`` of ``python -m qsnn.book`` read alike.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable

__all__ = ["read_mapping", "parse_value", "parse_overrides", "apply_overrides"]

_FLOAT_12 = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$")
_LOADER = None


def _loader():
    """A SafeLoader that also reads YAML 1.2 floats such as ``1e-3`` as numbers (built once)."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        # Integers keep their own resolver (it is consulted first for digits-only scalars).
        Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))
        # Put the int resolver back in front of the float one for the leading characters we touched.
        for ch in "-+0123456789.":
            resolvers = Loader.yaml_implicit_resolvers.get(ch, [])
            resolvers.sort(key=lambda r: r[0] != "tag:yaml.org,2002:int")
        _LOADER = Loader
    return _LOADER


def _load(text: str, what: str):
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError(f"{what} is not valid YAML: {exc}") from None


def read_mapping(path: str | os.PathLike, what: str = "file") -> dict:
    """The mapping held by the YAML file ``path`` (an empty file gives ``{}``).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file (the message says "<what> <path> does not exist").
    ValueError
        If the file is not UTF-8, the YAML is malformed, or it holds something other than a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{what} {path} is not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}); "
            f"save it as UTF-8"
        ) from None
    data = _load(text, f"{what} {path}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{what} {path} must hold a mapping name: value, got {type(data).__name__}")
    return data


def parse_value(raw: str, what: str = "value") -> Any:
    """One ``--set`` value as YAML (``1e-3`` a float, ``[1, 2]`` a list, ``true`` a bool, empty: ``None``)."""
    if raw.strip() == "":
        return None
    return _load(raw, f"{what} {raw!r}")


def parse_overrides(items: Iterable[str], option: str = "--set") -> dict:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}``; dotted keys address nested mappings.

    Raises ``ValueError`` naming the item for a missing ``=``, an empty key or a malformed value.
    """
    out: dict = {}
    for item in items:
        key, sep, raw = str(item).partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ValueError(f"{option} takes NAME=VALUE (NAME may be dotted: a.b=1), got {item!r}")
        value = parse_value(raw, f"{option} {key}:")
        apply_overrides(out, {key: value}, option)
    return out


def apply_overrides(target: dict, overrides: dict, option: str = "--set") -> dict:
    """Merge ``overrides`` (dotted keys or nested mappings) into ``target`` in place and return it."""
    for key, value in overrides.items():
        parts = str(key).split(".")
        node = target
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{option} {key}: {part} is {child!r}, not a mapping")
            node = child
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            apply_overrides(node[parts[-1]], value, option)
        else:
            node[parts[-1]] = value
    return target
