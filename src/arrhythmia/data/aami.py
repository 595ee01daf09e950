"""Mapping of MIT-BIH beat annotation symbols to the five AAMI EC57 classes."""

import numpy as np

AAMI_CLASSES: tuple[str, ...] = ("N", "S", "V", "F", "Q")

SYMBOL_TO_AAMI: dict[str, str] = {
    "N": "N",
    "L": "N",
    "R": "N",
    "e": "N",
    "j": "N",
    "A": "S",
    "a": "S",
    "J": "S",
    "S": "S",
    "V": "V",
    "E": "V",
    "F": "F",
    "/": "Q",
    "f": "Q",
    "Q": "Q",
}

# Every annotation code the MIT-BIH databases use (beats and non-beats), for validation.
MITBIH_SYMBOLS: frozenset[str] = frozenset(
    "N L R B A a J S V r F e j n E / f Q ? [ ! ] x ( ) p t u ` ' ^ | ~ + s T * D = \" @".split()
)


def aami_class(symbol: str) -> str | None:
    """AAMI class of a beat symbol, or None for a non-beat annotation."""
    return SYMBOL_TO_AAMI.get(symbol)


def aami_labels(symbols) -> np.ndarray:
    """AAMI class letters of beat annotation symbols (every symbol must be a beat)."""
    return np.array([SYMBOL_TO_AAMI[s] for s in symbols], dtype="<U1")


def class_index(labels: list[str] | np.ndarray) -> np.ndarray:
    """Integer codes (0..4, order of AAMI_CLASSES) for AAMI class letters."""
    lookup = {name: i for i, name in enumerate(AAMI_CLASSES)}
    return np.array([lookup[label] for label in labels], dtype=np.int64)
