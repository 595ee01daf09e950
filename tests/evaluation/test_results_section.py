import json

import numpy as np
import pytest

from arrhythmia.evaluation.ec57 import evaluate_predictions, write_metrics_json
from arrhythmia.evaluation.tables import results_section


@pytest.fixture
def metrics_dir(tmp_path):
    y = np.array([0, 0, 0, 1, 2, 2])
    write_metrics_json(tmp_path / "ds2.json", evaluate_predictions(y, np.array([0, 0, 1, 1, 2, 0])))
    (tmp_path / "train.json").write_text(json.dumps({
        "dev_val_score": 0.8, "dev_val_sveb_se": 0.7, "dev_val_sveb_pp": 0.5,
        "dev_val_veb_se": 0.9, "dev_val_veb_pp": 0.95, "n_models": 3,
        "n_parameters_per_model": 1234, "model_size_bytes": 4096, "train_seconds": 61.2,
        "best_epochs": [2, 3, 4],
    }))  # fmt: skip
    (tmp_path / "ds2_end_to_end.json").write_text(json.dumps({
        "qrs_se": 0.998, "qrs_pp": 0.997, "qrs_tp": 5, "qrs_fn": 1, "qrs_fp": 0,
        "veb_se": 0.5, "veb_pp": 1.0, "sveb_se": None, "sveb_pp": 0.25,
        "af_duration_se": 0.9, "af_reference_episodes": 3, "vt_reference_episodes": 2,
    }))  # fmt: skip
    return tmp_path


def _section(metrics_dir):
    return results_section(
        metrics_dir / "ds2.json", metrics_dir / "train.json", metrics_dir / "ds2_end_to_end.json"
    )


def test_results_section_reads_the_pipeline_metrics(metrics_dir):
    section = _section(metrics_dir)
    assert "6 beats" in section
    assert "| SVEB Se (EC57) | 100.0 |" in section and "| SVEB +P (EC57) | 50.0 |" in section
    assert "| **N** | 2 | 1 | 0 | 0 | 0 |" in section  # confusion row of reference N
    assert "SVEB Se 70.0 / +P 50.0" in section
    assert "3 CNNs (one per fold and seed) of 1234 parameters" in section and "61 s" in section
    # end to end beside at reference beats; a figure that is undefined prints as n/a
    assert "| QRS Se | - | 99.8 |" in section and "| VEB Se | 50.0 | 50.0 |" in section
    assert "| SVEB Se | 100.0 | n/a |" in section and "| VT episode Se | - | n/a |" in section
    assert "5 beats matched, 1 missed, 0 extra" in section


def test_the_kept_epochs_say_how_they_were_chosen(metrics_dir):
    assert "used for early stopping" in _section(metrics_dir)  # older files: best
    assert "epochs kept [2, 3, 4] (best)" in _section(metrics_dir)
    train = json.loads((metrics_dir / "train.json").read_text())
    (metrics_dir / "train.json").write_text(json.dumps({**train, "epoch_choice": "last"}))
    section = _section(metrics_dir)
    assert "early stopping" not in section and "epochs kept [2, 3, 4] (last)" in section


def test_the_learnt_strip_af_call_is_reported_where_the_model_has_one(metrics_dir):
    assert "Short strips" not in _section(metrics_dir)
    train = json.loads((metrics_dir / "train.json").read_text())
    train.update(strip_af_f1_cv=0.768, strip_af_se_cv=0.785, strip_af_ppv_cv=0.752,
                 strip_af_strips=2842, strip_af_af_strips=228)  # fmt: skip
    (metrics_dir / "train.json").write_text(json.dumps(train))
    section = _section(metrics_dir)
    assert "learnt AF call on 2842 CinC 2017 strips (228 AF)" in section
    assert "AF F1 76.8 %, Se 78.5 / +P 75.2" in section


def test_the_learnt_vt_vf_presence_is_reported_where_the_model_has_it(metrics_dir):
    assert "VT and VF" not in _section(metrics_dir)
    train = json.loads((metrics_dir / "train.json").read_text())
    train.update(vtvf_records=51, vtvf_windows=72067, vtvf_present_windows=7389,
                 vtvf_cv_vfdb_vt_or_vf_duration_se=0.956, vtvf_cv_vfdb_vt_or_vf_duration_ppv=0.812,
                 vtvf_cv_cudb_vf_duration_se=0.843)  # fmt: skip
    (metrics_dir / "train.json").write_text(json.dumps(train))
    section = _section(metrics_dir)
    assert "fitted on 72067 windows of 51 records (DS1, VFDB, CUDB)" in section
    assert "VFDB VT-or-VF 95.6 / 81.2" in section
    assert "CUDB VF 84.3 / n/a" in section  # a figure missing from the file is n/a, never NaN
