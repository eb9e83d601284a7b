"""A deployable Q-SNN: the packed file (:mod:`.format`), export from PyTorch (:mod:`.export`), the engine
that computes from packed bits (:mod:`.engine`) and its measurements (:mod:`.report`)."""

from .engine import PackedModel, load
from .export import export
from .format import PackedFileError

__all__ = ["export", "load", "PackedModel", "PackedFileError"]
