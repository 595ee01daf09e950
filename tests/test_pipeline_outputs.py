"""The protocol's run (`make run`: params.yaml as it is, every record): its committed
outputs hold every record and beat of each database. `.ci/run` runs this module again after
`make run`, on the outputs the fresh run wrote; the slow tier runs the stages on a smoke
run's few records (tests/e2e)."""

import json
from pathlib import Path

import yaml

from arrhythmia.data.records import CUDB, DS1, DS2, SVDB, VFDB, cinc2017_reference

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
PATHS = PARAMS["paths"]


def _read(key: str) -> dict:
    return json.loads((ROOT / PATHS[key]).read_text())


def test_the_run_validated_every_record_and_strip_of_each_database():
    receipt = _read("raw_passed")
    strips = len(cinc2017_reference())
    assert strips == 2842 and receipt["passed"]
    assert receipt["tables"] == {
        "records": 48,  # the paced ones too: fetched and checked, never in a split
        "annotations": 112647,
        "svdb_records": 40,
        "svdb_annotations": 96744,
        "vfdb_records": 11,  # rhythm development data
        "vfdb_annotations": 270,
        "cudb_records": 18,
        "cudb_annotations": 10417,
        "cinc2017_strips": strips,
    }
    assert len(receipt["inputs_sha256"]) == 3 * 48 + 3 * 40 + 2 * strips + 3 * 11 + 3 * 18
    assert _read("dataset_passed")["passed"]


def test_the_dataset_holds_de_chazals_counts_exactly():
    """The AAMI counts of de Chazal et al. (2004) on DS1 and DS2, and SVDB's."""
    assert _read("class_counts") == PARAMS["validate_dataset"]["expected_counts"]
    assert PARAMS["validate_dataset"]["expected_counts"]["DS2"] == {
        "N": 44259, "S": 1837, "V": 3221, "F": 388, "Q": 7,
    }  # fmt: skip


def test_the_model_learnt_from_every_development_patient_and_strip():
    train = _read("train_metrics")
    assert train["training_sets"] == ["DS1", "SVDB"]
    assert train["n_models"] == PARAMS["train"]["folds"] * PARAMS["train"]["seeds"]
    support = sum(train[f"dev_val_support_{c}"] for c in "NSVFQ")
    counts = _read("class_counts")
    assert support == sum(sum(counts[split].values()) for split in ("DS1", "SVDB"))
    assert train["strip_af_strips"] == len(cinc2017_reference())
    assert len(DS1) + len(SVDB) == 62
    # the VT/VF trees: every DS1, VFDB and CUDB record, scored out of fold per database
    assert train["vtvf_records"] == len(DS1) + len(VFDB) + len(CUDB) == 51
    for database in ("mitdb", "vfdb", "cudb"):
        assert 0 < train[f"vtvf_cv_{database}_vt_or_vf_duration_se"] <= 1


def test_ds2_is_scored_on_every_beat_and_record():
    at_reference, whole = _read("ds2_metrics"), _read("ds2_end_to_end")
    assert at_reference["n_beats"] == sum(
        PARAMS["validate_dataset"]["expected_counts"]["DS2"].values()
    )
    assert whole["n_records"] == len(DS2) == 22
    assert whole["qrs_tp"] + whole["qrs_fn"] == at_reference["n_beats"]
    assert min(whole["qrs_se"], whole["qrs_pp"]) > 0.99


def test_the_detector_holds_on_ds1_with_and_without_noise():
    detector = _read("detector_metrics")
    assert detector["ds1_cross_fitted_se"] > 0.97  # clean records and noisy copies pooled
    assert min(detector["ds1_clean_cross_fitted_se"], detector["ds1_clean_cross_fitted_pp"]) > 0.99
