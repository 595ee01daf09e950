import numpy as np

from arrhythmia.evaluation.end_to_end import beat_confusion, beat_statistics, pooled_statistics


def test_missed_and_extra_beats_count_against_the_class_statistics():
    fs = 1000.0
    ref_samples = np.array([1000, 2000, 3000, 4000, 5000])
    ref_labels = np.array(["N", "V", "V", "S", "N"])
    # beat 3000 (V) missed; an extra detection at 6000 called V; 4000 (S) called N
    det_samples = np.array([1000, 2005, 4010, 5000, 6000])
    det_labels = np.array(["N", "V", "N", "N", "V"])
    counts = beat_confusion(ref_samples, ref_labels, det_samples, det_labels, fs)
    stats = beat_statistics(counts)
    assert (stats["qrs_tp"], stats["qrs_fn"], stats["qrs_fp"]) == (4, 1, 1)
    assert stats["veb_se"] == 0.5  # 1 of 2 reference V found as V
    assert stats["veb_pp"] == 0.5  # the extra V detection is a false positive
    assert stats["sveb_se"] == 0.0 and stats["sveb_pp"] is None


def test_pooled_statistics_sum_records_and_never_give_nan():
    fs = 360.0
    one = beat_confusion(np.array([100]), np.array(["N"]), np.array([100]), np.array(["N"]), fs)
    rhythm = {
        "af": {"reference_s": 0.0, "detected_s": 0.0, "overlap_s": 0.0,
               "reference_episodes": 0, "reference_episodes_found": 0,
               "detected_episodes": 0, "detected_episodes_true": 0},
    }  # fmt: skip
    rhythm["vt"] = dict(rhythm["af"])
    pooled = pooled_statistics([one, one], [rhythm, rhythm])
    assert pooled["qrs_tp"] == 2 and pooled["n_records"] == 2
    assert pooled["af_duration_se"] is None and pooled["veb_se"] is None
