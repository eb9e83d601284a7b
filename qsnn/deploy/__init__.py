"""A deployable Q-SNN: the packed file (:mod:`.format`), export from PyTorch (:mod:`.export`), the engine
that computes from packed bits (:mod:`.engine`) and its measurements (:mod:`.report`)."""

from .._core.extras import require_extra

require_extra("torch", "qsnn.deploy", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

from .engine import PackedModel, load  # noqa: E402
from .export import export  # noqa: E402
from .format import PackedFileError  # noqa: E402

__all__ = ["export", "load", "PackedModel", "PackedFileError"]
