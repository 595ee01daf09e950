"""WFDB annotation files (MIT format), written byte for byte as `wfdb.wrann` writes them.

wfdb's writer builds its symbol table through pandas on every call: several ms per record,
about as long as the rest of writing a short strip's outputs; the format itself is a few
16-bit words per annotation (PhysioNet's "annot(5)" page).
tests/data/test_annotation_file.py compares the bytes with wfdb's for the same annotations.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

# WFDB's standard codes (wfdb.io.annotation.ann_label_table) of the symbols we write
SYMBOL_CODES = {"N": 1, "V": 5, "F": 6, "S": 9, "Q": 13, "+": 28}
NOTE, SKIP, AUX = 22, 59, 63  # the fs note's code; what the words after a SKIP or AUX hold
MAX_INTERVAL = 1023  # the 10 bits an annotation word holds
MAX_AUX = 255  # wfdb keeps an aux note's length in one byte
# wfdb ends the "special" annotations (the sampling frequency note) with a SKIP of -1 and a
# word of interval 1, which bring a reader back to sample 0
END_OF_SPECIAL = bytes([0, 236, 255, 255, 255, 255, 1, 0])


def _word(code: int, value: int) -> bytes:
    """One little-endian 16-bit word: 6 bits of code, 10 bits of value."""
    return bytes([value & 255, ((value >> 8) & 3) + 4 * code])


def _aux(text: str) -> bytes:
    """An aux note: its length, the AUX code, its bytes padded to an even length."""
    data = text.encode("ascii")
    return _word(AUX, len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _skips(difference: int) -> tuple[bytes, int]:
    """SKIP words for a difference too long for one annotation word (each holds its high,
    then its low 16 bits), as wfdb writes them, and what is left for the annotation."""
    out = b""
    while difference > MAX_INTERVAL:
        n = min(difference, 0x7FFFFFFF)
        out += _word(SKIP, 0) + bytes([(n >> 16) & 255, (n >> 24) & 255, n & 255, (n >> 8) & 255])
        difference -= n
    return out, difference


def _fs_note(fs: float) -> bytes:
    """The "## time resolution: <fs>" note (a NOTE at sample 0 with that aux text) wfdb
    writes first; fs as an integer where it is one to 8 decimals."""
    if isinstance(fs, float) and round(fs, 8) == float(int(fs)):
        fs = int(fs)
    return _word(NOTE, 0) + _aux(f"## time resolution: {fs}")


def annotation_bytes(
    samples: Sequence[int], symbols: Sequence[str], aux_notes: Sequence[str], fs: float
) -> bytes:
    """The file's bytes: the sampling-frequency note, then one word per annotation (its
    sample's difference from the previous one and its code), each followed by its aux note
    when it has one, then the terminating zero word. With no annotation (wfdb refuses to
    write that; a diagnosis always has a rhythm episode) only the note and the end."""
    if not len(samples) == len(symbols) == len(aux_notes):
        raise ValueError("samples, symbols and aux notes must have one entry per annotation")
    samples = np.asarray(samples, dtype=np.int64)
    if len(samples) and (samples[0] < 0 or np.any(np.diff(samples) < 0)):
        raise ValueError("annotation samples must be non-negative and in time order")
    unknown = sorted(set(symbols) - SYMBOL_CODES.keys())
    if unknown:
        raise ValueError(f"no WFDB code written for annotation symbols {unknown}")
    unwritable = [a for a in aux_notes if not a.isascii() or len(a) > MAX_AUX]
    if unwritable:
        raise ValueError(
            f"aux notes must be ASCII of at most {MAX_AUX} characters: {unwritable[0]!r}"
        )
    if not fs > 0:
        raise ValueError(f"the sampling frequency must be positive, got {fs}")
    parts = [_fs_note(fs), END_OF_SPECIAL]
    previous = 0
    for sample, symbol, aux in zip(samples.tolist(), symbols, aux_notes, strict=True):
        difference, previous = sample - previous, sample
        skips, left = _skips(difference)
        parts += [skips, _word(SYMBOL_CODES[symbol], left)]
        if aux:
            parts.append(_aux(aux))
    parts.append(b"\0\0")
    return b"".join(parts)


def write_annotation_file(
    path: str | Path,
    samples: Sequence[int],
    symbols: Sequence[str],
    aux_notes: Sequence[str],
    fs: float,
) -> None:
    """Write `annotation_bytes` to `path`; nothing is written if they are refused."""
    Path(path).write_bytes(annotation_bytes(samples, symbols, aux_notes, fs))
