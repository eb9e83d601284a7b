"""Training for Part II (Wei et al., Q-SNNs, ACM MM 2024): configuration, loss, evaluation, loop, CLI.

Recipe (Wei et al., and the authors' public code github.com/Wenjie-Wei/Q-SNN): loss
``L = (1/T) sum_t CE(O[t], y) + lambda_sr * L_SR`` (:func:`qsnn_loss`), prediction = argmax of
the mean output over T, SGD with momentum 0.9 and lr 0.1, cosine schedule to 0, weight decay
1e-4 on weights only (not on BatchNorm parameters and biases), batch 64, 300 epochs, the EDE
sign-gradient annealed over the epochs (``qsnn.nn.set_ede_progress``).

Modules: :mod:`~qsnn.train.config` (:class:`TrainConfig`), :mod:`~qsnn.train.loss`
(:func:`qsnn_loss`, :func:`param_groups`, :func:`ede_progress`), :mod:`~qsnn.train.evaluation`
(:func:`evaluate`, :func:`firing_rates`, :func:`predict`, :func:`sign_balance`), :mod:`~qsnn.train.runtime`
(processes, device, determinism), :mod:`~qsnn.train.outputs` (the run's folders and files),
:mod:`~qsnn.train.loop` (:func:`fit`, :class:`TrainResult`) and :mod:`~qsnn.train.cli`
(``python -m qsnn.train``).

From Python: ``result = fit(TrainConfig(model="small", epochs=20))``; tests and experiments pass
``fit(config, model_factory=..., on_epoch=...)``.

The names load PyTorch on first use (the ``torch`` extra), so ``python -m qsnn.train`` on an install
without it says which extra to install instead of failing on an import.
"""

from .._core.extras import require_extra

# Name -> the submodule that defines it; loaded on first use (PEP 562).
_NAMES = {
    "MODEL_NAMES": "config",
    "TrainConfig": "config",
    "RESUMABLE_DIFFERENCES": "config",
    "TrainResult": "loop",
    "fit": "loop",
    "EvalResult": "evaluation",
    "evaluate": "evaluation",
    "firing_rates": "evaluation",
    "predict": "evaluation",
    "sign_balance": "evaluation",
    "LossParts": "loss",
    "qsnn_loss": "loss",
    "param_groups": "loss",
    "ede_progress": "loss",
    "OutputFolderError": "outputs",
    "CHECKPOINT_NAME": "outputs",
    "CHECKPOINT_FORMAT": "outputs",
    "format_epoch": "cli",
    "main": "cli",
}

__all__ = [
    "MODEL_NAMES",
    "RESUMABLE_DIFFERENCES",
    "TrainConfig",
    "TrainResult",
    "EvalResult",
    "LossParts",
    "OutputFolderError",
    "CHECKPOINT_NAME",
    "CHECKPOINT_FORMAT",
    "qsnn_loss",
    "param_groups",
    "ede_progress",
    "evaluate",
    "firing_rates",
    "predict",
    "sign_balance",
    "fit",
    "format_epoch",
    "main",
]


def __getattr__(name):
    import importlib

    if name in _NAMES:
        require_extra("torch", f"qsnn.train.{name}", modules=("torch",))
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'qsnn.train' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_NAMES))
