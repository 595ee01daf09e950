"""The QRS detector: candidates fused across leads, trees exported exactly, a model file
that loads without pickle, and beats found on real excerpts."""

import numpy as np
import pytest

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection.candidates import fuse
from arrhythmia.detection.model import DetectorFileError, QrsDetector, TreeEnsemble
from arrhythmia.evaluation.beat_matching import match_beats
from arrhythmia.signal.ecg import primary_lead_first


def test_fusing_joins_close_detections_and_keeps_the_primary_leads_position():
    fs = 360.0
    primary = np.array([1000, 2000, 3000])
    other = np.array([1010, 2500, 2990])  # 1010 and 2990 fall within 100 ms of primary beats
    c = fuse([primary, other], fs)
    assert c.sample.tolist() == [1000, 2000, 2500, 3000]
    assert c.votes.tolist() == [[True, True], [True, False], [False, True], [True, True]]


def test_fusing_one_lead_and_no_detections():
    assert fuse([np.array([5, 500])], 360.0).votes.tolist() == [[True], [True]]
    assert len(fuse([np.zeros(0, np.int64), np.zeros(0, np.int64)], 360.0).sample) == 0


def test_exported_trees_give_sklearns_probabilities():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 5))
    y = x[:, 0] + 0.5 * x[:, 1] ** 2 + 0.3 * rng.normal(size=2000) > 0.4
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(x, y)
    trees = TreeEnsemble.from_sklearn(model)
    probe = rng.normal(size=(500, 5))
    np.testing.assert_allclose(trees.proba(probe), model.predict_proba(probe)[:, 1], atol=1e-12)


def test_trees_score_many_rows_block_by_block_as_one_block(monkeypatch):
    """A day's windows are scored a block of rows at a time (bounded memory): the same
    scores, bit for bit, as all rows at once."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from arrhythmia import trees as trees_module

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 4))
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, x[:, 0] > 0.2)
    trees = TreeEnsemble.from_sklearn(model)
    whole = trees.decision(x)
    monkeypatch.setattr(trees_module, "BLOCK_ROWS", 7)  # blocks that do not divide the rows
    np.testing.assert_array_equal(trees.decision(x), whole)
    assert len(trees.decision(x[:0])) == 0


def test_detector_file_round_trips_and_refuses_other_files(tmp_path, detector_file):
    detector = QrsDetector.load(detector_file)
    copy = tmp_path / "copy.npz"
    detector.save(copy)
    again = QrsDetector.load(copy)
    assert again.threshold == detector.threshold
    np.testing.assert_array_equal(again.trees.value, detector.trees.value)
    assert copy.read_bytes() == detector_file.read_bytes()  # deterministic bytes: stable DVC hash

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, feature=np.array([object()], dtype=object))
    with pytest.raises(DetectorFileError, match="not a QRS detector file"):
        QrsDetector.load(pickled)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DetectorFileError):
        QrsDetector.load(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError, match="no QRS detector here"):
        QrsDetector.load(tmp_path / "absent.npz")


@pytest.mark.parametrize("record", ["100", "119", "208", "232"])
def test_detector_finds_the_beats_of_real_excerpts(excerpt_dir, detector_file, record):
    """Fitted on these excerpts with few trees: a sanity bar, not a benchmark."""
    ecg = primary_lead_first(read_ecg(excerpt_dir / record))
    reference = read_beats(excerpt_dir / record).sample
    found = QrsDetector.load(detector_file).detect(ecg.signal, ecg.fs)
    m = match_beats(reference, found, ecg.fs)
    assert m.true_positives >= 0.95 * len(reference)
    assert m.true_positives >= 0.95 * len(found)


def test_detector_on_one_lead_and_on_a_resampled_record(excerpt_dir, detector_file):
    from arrhythmia.signal.resample import resample_record

    ecg = primary_lead_first(read_ecg(excerpt_dir / "100"))
    reference = read_beats(excerpt_dir / "100").sample
    detector = QrsDetector.load(detector_file)
    one_lead = detector.detect(ecg.signal[:, :1], ecg.fs)
    assert match_beats(reference, one_lead, ecg.fs).true_positives >= 0.95 * len(reference)
    at_250 = resample_record(ecg, 250.0)
    found = detector.detect(at_250.signal, 250.0)
    moved = np.round(reference * 250 / 360).astype(int)
    assert match_beats(moved, found, 250.0).true_positives >= 0.95 * len(reference)
