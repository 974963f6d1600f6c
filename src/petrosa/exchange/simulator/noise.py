"""Counter-based randomness: every draw is a pure function of (key, counter).

A generator with state would force history to be produced from the start; hashing a counter
(the index of a minute, an hour, a trade) gives random access to any point in time and the
same numbers in every process. The mixer is SplitMix64's finaliser, applied to whole numpy
arrays (unsigned 64-bit arithmetic wraps, which is what the mixer relies on).
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import ArrayLike, NDArray

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SHIFT_1 = np.uint64(30)
_SHIFT_2 = np.uint64(27)
_SHIFT_3 = np.uint64(31)
_MANTISSA_SHIFT = np.uint64(11)
_UNIT = 2.0**-53
_SECOND_DRAW = 0x5851F42D4C957F2D
"""Derives the key of the second uniform a normal draw needs."""


def stream_key(seed: int, *labels: str) -> int:
    """A 64-bit key naming one stream of draws, e.g. (seed, "BTCUSDT", "hour", "bridge")."""
    text = "\x1f".join([str(seed), *labels]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _mix(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = values + _GOLDEN
    z = (z ^ (z >> _SHIFT_1)) * _MIX_1
    z = (z ^ (z >> _SHIFT_2)) * _MIX_2
    return z ^ (z >> _SHIFT_3)


def hash64(key: int, counters: ArrayLike) -> NDArray[np.uint64]:
    """64 well-mixed bits for every counter (any integer array shape)."""
    counts = np.asarray(counters, dtype=np.int64).astype(np.uint64)
    return _mix(_mix(counts ^ np.uint64(key)) + np.uint64(key))


def uniform(key: int, counters: ArrayLike) -> NDArray[np.float64]:
    """Uniform draws in the open interval (0, 1), one per counter."""
    bits = hash64(key, counters) >> _MANTISSA_SHIFT
    return (bits.astype(np.float64) + 0.5) * _UNIT


def normal(key: int, counters: ArrayLike) -> NDArray[np.float64]:
    """Standard normal draws (Box-Muller over two uniforms), one per counter."""
    radius = np.sqrt(-2.0 * np.log(uniform(key, counters)))
    angle = 2.0 * np.pi * uniform(key ^ _SECOND_DRAW, counters)
    return radius * np.cos(angle)
