"""Reading the YAML parameter files of chapters and training runs (one mapping per file)."""

from __future__ import annotations

import os
from pathlib import Path


def read_mapping(path: str | os.PathLike, what: str = "file") -> dict:
    """The mapping held by the YAML file ``path`` (an empty file gives ``{}``).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file (the message says "<what> <path> does not exist").
    ValueError
        If the YAML is malformed or holds something other than a mapping.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{what} {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{what} {path} must hold a mapping name: value, got {type(data).__name__}")
    return data
