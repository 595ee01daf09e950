import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.beat_dataset import (
    class_counts,
    load_dataset,
    record_dataset,
    save_dataset,
)
from arrhythmia.data.wfdb_io import read_beats
from arrhythmia.signal.ecg import EcgRecord, primary_lead_first
from arrhythmia.signal.rr import RR_FEATURES


def test_record_dataset_from_real_excerpt(excerpt_dir, params):
    arrays = record_dataset(excerpt_dir, "208", params.preprocess)
    beats = read_beats(excerpt_dir / "208")
    n = len(beats.sample)
    assert n == 52  # 25 N + 20 V + 7 F beats, noise and rhythm labels dropped
    assert arrays["windows"].shape == (n, 2, 252)
    assert np.isfinite(arrays["windows"]).all() and np.isfinite(arrays["rr"]).all()
    labels = [AAMI_CLASSES[i] for i in arrays["label"]]
    assert labels.count("V") == 20 and labels.count("F") == 7 and labels.count("N") == 25
    assert set(arrays["split"]) == {"DS1"} and set(arrays["record"]) == {"208"}
    np.testing.assert_array_equal(arrays["sample"], beats.sample)


def test_v_beats_of_bigeminy_are_premature(excerpt_dir, params):
    arrays = record_dataset(excerpt_dir, "119", params.preprocess)
    is_v = arrays["label"] == AAMI_CLASSES.index("V")
    pre_over_sinus = arrays["rr"][:, RR_FEATURES.index("pre_over_sinus")]
    assert np.median(pre_over_sinus[is_v]) < 0.85 < np.median(pre_over_sinus[~is_v])


def test_dataset_round_trip_and_counts(tmp_path, excerpt_dir, params):
    a = record_dataset(excerpt_dir, "100", params.preprocess)
    b = record_dataset(excerpt_dir, "119", params.preprocess)
    arrays = {k: np.concatenate([a[k], b[k]]) for k in a if k != "fs"}
    path = tmp_path / "beats.npz"
    save_dataset(path, arrays)
    loaded = load_dataset(path)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    np.testing.assert_array_equal(loaded["windows"], arrays["windows"])
    counts = class_counts(loaded)
    assert counts["DS2"]["N"] == 36 and counts["DS2"]["S"] == 1
    assert counts["DS1"]["V"] == 8 and counts["DS1"]["N"] == 24


def test_primary_lead_moves_mlii_first():
    record = EcgRecord("114", 360.0, np.array([[1.0, 2.0]]), ("V5", "MLII"))
    reordered = primary_lead_first(record)
    assert reordered.leads == ("MLII", "V5")
    np.testing.assert_array_equal(reordered.signal, [[2.0, 1.0]])


def test_an_svdb_record_is_resampled_to_the_dataset_rate(params):
    from tests.conftest import SVDB_EXCERPT_DIR

    arrays = record_dataset(SVDB_EXCERPT_DIR, "822", params.preprocess)
    beats = read_beats(SVDB_EXCERPT_DIR / "822")
    assert float(arrays["fs"]) == 360.0
    assert arrays["windows"].shape == (len(beats.sample), 2, 252)  # MITDB's window length
    # positions moved from 128 Hz to 360 Hz, within one sample of the exact ratio
    np.testing.assert_allclose(arrays["sample"], beats.sample * 360 / 128, atol=0.5)
    assert set(arrays["split"]) == {"SVDB"}
    labels = [AAMI_CLASSES[i] for i in arrays["label"]]
    assert labels.count("S") == 37 and labels.count("N") == 41
    assert np.isfinite(arrays["windows"]).all() and np.isfinite(arrays["rr"]).all()
    # RR intervals in seconds, whatever the record's own rate
    pre_rr = arrays["rr"][:, list(RR_FEATURES).index("pre_rr")]
    assert 0.3 < np.median(pre_rr) < 1.5


def test_leads_without_limb_lead_names_keep_their_order(params):
    from arrhythmia.data.wfdb_io import read_ecg
    from tests.conftest import SVDB_EXCERPT_DIR

    ecg = read_ecg(SVDB_EXCERPT_DIR / "810")
    assert ecg.leads == ("ECG1", "ECG2")
    assert primary_lead_first(ecg).leads == ("ECG1", "ECG2")


def test_resampled_svdb_windows_keep_the_r_peak_where_mitdb_windows_have_it(params):
    from tests.conftest import SVDB_EXCERPT_DIR

    arrays = record_dataset(SVDB_EXCERPT_DIR, "822", params.preprocess)
    normal = arrays["label"] == AAMI_CLASSES.index("N")
    peak = np.abs(arrays["windows"][normal, 0]).argmax(axis=1)
    # the reference marks the QRS within a few samples of its peak at 128 Hz (8 ms each)
    assert abs(np.median(peak) - 90) <= 6


def test_one_wfdb_reader_for_the_dataset_and_the_diagnosis(excerpt_dir):
    """The beat dataset gets wfdb's own float64 values; the diagnosis their float32 cast."""
    import wfdb

    from arrhythmia.data.readers import read_record
    from arrhythmia.data.wfdb_io import read_ecg
    from tests.conftest import SVDB_EXCERPT_DIR

    for path in (excerpt_dir / "208", SVDB_EXCERPT_DIR / "810"):
        wanted = wfdb.rdrecord(str(path)).p_signal
        for_training, for_diagnosis = read_ecg(path), read_record(path)
        assert for_training.signal.dtype == np.float64 and for_diagnosis.signal.dtype == np.float32
        assert for_training.signal.tobytes() == wanted.tobytes()
        assert for_diagnosis.signal.tobytes() == wanted.astype(np.float32).tobytes()
        assert for_training.leads == for_diagnosis.leads and for_training.fs == for_diagnosis.fs
