"""Event streams in one import: the event-camera emulator, frames and statistics, the emulated
digits and offline access to recorded DVS data sets (tonic's conventions throughout).

Each piece lives in its own module; this one gathers their public names:

- :mod:`qsnn.data.emulator`: :func:`emulate_events`, the DVS pixel model applied to a static
  image that moves in front of the sensor, the way N-MNIST was recorded (Orchard et al. 2015).
- :mod:`qsnn.data.frames`: :func:`events_to_frames`, :class:`ToFrames`, :func:`event_statistics`,
  :func:`scatter_arrays`.
- :mod:`qsnn.data.emulated_digits`: :class:`EmulatedDigits`, the scikit-learn digits as event
  streams.
- :mod:`qsnn.data.tonic_offline`: :func:`load_event_dataset`, N-MNIST, DVS Gesture, CIFAR10-DVS
  and SHD through tonic's own classes, read from disk, checked complete, never downloaded.

:mod:`qsnn.data.event_sets` turns these into frame sequences [T, 2, H, W] for training.
"""

from .emulated_digits import DIGITS_EMULATOR_DEFAULTS, EmulatedDigits
from .emulator import EMULATOR_DEFAULTS, emulate_events, emulated_sensor_size, saccade_path
from .event_format import EVENT_DTYPE
from .frames import FrameTransform, ToFrames, event_statistics, events_to_frames, frame_transform, scatter_arrays
from .tonic_offline import CIFAR10DVS_TRAIN_FRACTION, DATASET_NAMES, RECORDED_SIZES, load_event_dataset

__all__ = [
    "CIFAR10DVS_TRAIN_FRACTION",
    "DATASET_NAMES",
    "DIGITS_EMULATOR_DEFAULTS",
    "EMULATOR_DEFAULTS",
    "EVENT_DTYPE",
    "EmulatedDigits",
    "FrameTransform",
    "RECORDED_SIZES",
    "ToFrames",
    "emulate_events",
    "emulated_sensor_size",
    "event_statistics",
    "events_to_frames",
    "frame_transform",
    "load_event_dataset",
    "saccade_path",
    "scatter_arrays",
]
