"""Our WFDB annotation writer gives wfdb's bytes for the same annotations, and wfdb reads
them back as written."""

import numpy as np
import pytest
import wfdb

from arrhythmia.data.annotation_file import annotation_bytes, write_annotation_file


def wfdb_bytes(tmp_path, samples, symbols, aux, fs) -> bytes:
    wfdb.wrann("rec", "ann", np.asarray(samples), symbol=symbols, aux_note=aux, fs=fs,
               write_dir=str(tmp_path))  # fmt: skip
    return (tmp_path / "rec.ann").read_bytes()


CASES = {
    "beats and rhythm changes": (
        [0, 0, 120, 400, 400, 700],
        ["+", "N", "V", "+", "S", "F"],
        ["(N", "", "", "(AFIB", "", ""],
        360,
    ),
    # 1 023 fits one word; 1 024, 70 000 (above 16 bits) and 2**31 + 5 need SKIP words
    "long intervals": (
        [1023, 2047, 72047, 72047 + 2**31 + 5],
        ["N", "Q", "+", "N"],
        ["", "", "(VFL", ""],
        128.0,
    ),
    "odd and even aux notes, a rate that is not whole": (
        [5, 10, 15],
        ["+", "+", "+"],
        ["(T", "(NOISE", "(SVTA"],
        250.5,
    ),
    "no aux note at all": ([3, 9], ["N", "N"], ["", ""], 300),
    "no annotation": ([], [], [], 360.0),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_bytes_are_wfdbs(tmp_path, case):
    samples, symbols, aux, fs = case
    if not samples:  # wfdb refuses to write an empty annotation set
        expected = wfdb_bytes(tmp_path, [0], ["N"], [""], fs)
        expected = expected[:-4] + b"\0\0"  # the same file less the one annotation word
    else:
        expected = wfdb_bytes(tmp_path, samples, symbols, aux, fs)
    assert annotation_bytes(samples, symbols, aux, fs) == expected


def test_wfdb_reads_back_what_was_written(tmp_path):
    samples, symbols, aux, fs = CASES["long intervals"]
    write_annotation_file(tmp_path / "rec.cnn", samples, symbols, aux, fs)
    ann = wfdb.rdann(str(tmp_path / "rec"), "cnn")
    assert ann.sample.tolist() == samples and ann.symbol == symbols
    assert ann.aux_note == aux and ann.fs == fs


@pytest.mark.parametrize(
    "samples, symbols, aux, message",
    [
        ([1, 2], ["N"], ["", ""], "one entry per annotation"),
        ([5, 3], ["N", "N"], ["", ""], "in time order"),
        ([-1], ["N"], [""], "non-negative"),
        ([1], ["A"], [""], "symbols \\['A'\\]"),
        ([1], ["+"], ["(AFIB\u00e9"], "ASCII"),
        ([1], ["+"], ["(" + "X" * 255], "at most 255"),
    ],
)
def test_bad_annotations_are_refused(tmp_path, samples, symbols, aux, message):
    path = tmp_path / "rec.cnn"
    with pytest.raises(ValueError, match=message):
        write_annotation_file(path, samples, symbols, aux, 360)
    assert not path.exists()


@pytest.mark.parametrize("fs", [0, -360.0, float("nan")])
def test_a_rate_that_is_not_positive_is_refused(fs):
    with pytest.raises(ValueError, match="must be positive"):
        annotation_bytes([1], ["N"], [""], fs)
