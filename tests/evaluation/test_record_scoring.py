"""The end-to-end scoring loop, with a stand-in diagnosis on the committed excerpts."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from arrhythmia.data.aami import aami_labels
from arrhythmia.data.wfdb_io import read_beats
from arrhythmia.evaluation.record_scoring import score_end_to_end
from arrhythmia.evaluation.rhythm_scoring import reference_episodes

N_SAMPLES = 10800  # the excerpts: 30 s at 360 Hz


def reference_diagnosis(path: Path, drop_first: bool = False) -> SimpleNamespace:
    """What a perfect diagnosis of the record would say (its first beat missed if asked)."""
    beats = read_beats(path)
    first = 1 if drop_first else 0
    return SimpleNamespace(
        samples=beats.sample[first:], labels=aami_labels(beats.symbol)[first:], fs=360.0,
        n_samples=N_SAMPLES, episodes=reference_episodes(str(path), N_SAMPLES),
    )  # fmt: skip


def test_each_record_is_diagnosed_once_and_scored_against_its_annotations(excerpt_dir):
    seen = []

    def diagnose(path: Path) -> SimpleNamespace:
        seen.append(path)
        return reference_diagnosis(path, drop_first=path.name == "119")

    result = score_end_to_end(["100", "119"], excerpt_dir, diagnose)
    assert seen == [excerpt_dir / "100", excerpt_dir / "119"]
    assert [row["record"] for row in result.rows] == ["100", "119"]
    assert result.rows[0]["qrs_se"] == 1.0 and result.rows[0]["qrs_fn"] == 0
    assert result.rows[1]["qrs_fn"] == 1 and result.rows[1]["qrs_pp"] == 1.0
    n_beats = sum(len(read_beats(excerpt_dir / r).sample) for r in ("100", "119"))
    assert result.pooled["n_records"] == 2
    assert result.pooled["qrs_tp"] + result.pooled["qrs_fn"] == n_beats
    assert result.pooled["qrs_fn"] == 1 and result.pooled["qrs_fp"] == 0
    assert np.array(result.pooled["beat_confusion"]).sum() == n_beats
