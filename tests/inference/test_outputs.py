"""What `arrhythmia predict` writes: a `.cnn` that wfdb reads as it reads MITDB's `.atr`
(beats, then `+` rhythm changes with aux notes) and a JSON report with the summary."""

import json

import numpy as np
import pytest
import wfdb

from arrhythmia.cli import main
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.inference.outputs import diagnosis_json, write_diagnosis
from arrhythmia.rhythm.episodes import Episode

FS = 360.0


def _diagnosis() -> Diagnosis:
    samples = np.arange(180, 36_000, 360)  # 100 beats at 60 bpm
    labels = np.array(["N", "V"] * 50)
    proba = np.zeros((100, 5), dtype=np.float32)
    proba[np.arange(100), np.where(labels == "N", 0, 2)] = 1.0
    episodes = [Episode("N", 0, 7200), Episode("B", 7200, 28_800), Episode("NOISE", 28_800, 36_000)]
    return Diagnosis(
        record="rec", fs=FS, leads=("MLII", "V1"), n_samples=36_000, samples=samples,
        labels=labels, proba=proba, episodes=episodes, unreadable=[(28_800, 36_000)],
        pauses=[(1000, 2000)], beats_from="detector",
    )  # fmt: skip


def test_annotations_read_back_as_mitdb_style_beats_and_rhythm_changes(tmp_path):
    d = _diagnosis()
    cnn, _ = write_diagnosis(d, tmp_path, diagnosis_json(d, "model", "detector"))
    ann = wfdb.rdann(str(tmp_path / "rec"), "cnn")
    assert cnn == tmp_path / "rec.cnn" and ann.fs == FS
    rhythm = [
        (s, a) for s, y, a in zip(ann.sample, ann.symbol, ann.aux_note, strict=True) if y == "+"
    ]
    assert rhythm == [(0, "(N"), (7200, "(B"), (28_800, "(NOISE")]
    beats = [(s, y) for s, y in zip(ann.sample, ann.symbol, strict=True) if y != "+"]
    assert [s for s, _ in beats] == d.samples.tolist()
    assert [y for _, y in beats] == d.labels.tolist()
    assert list(ann.sample) == sorted(ann.sample)


def test_the_json_report_summarises_the_record(tmp_path):
    d = _diagnosis()
    _, path = write_diagnosis(d, tmp_path, diagnosis_json(d, "model", "detector"))
    r = json.loads(path.read_text())
    s = r["summary"]
    assert s["n_beats"] == 100 and s["beats_per_class"] == {
        "N": 50,
        "S": 0,
        "V": 50,
        "F": 0,
        "Q": 0,
    }
    assert s["unreadable_s"] == 20.0 and s["time_in_rhythm_s"] == {
        "N": 20.0,
        "B": 60.0,
        "NOISE": 20.0,
    }
    assert s["heart_rate_bpm"] == {"min": 60.0, "mean": 60.0, "max": 60.0}
    assert s["ectopic_beats_per_hour"]["V"] == 50 / (80 / 3600)  # over the readable 80 s
    assert s["n_pauses"] == 1 and s["longest_pause_s"] == round(1000 / FS, 3)
    assert [e["type"] for e in r["episodes"]] == ["N", "B", "NOISE"]
    assert r["episodes"][1]["mean_heart_rate_bpm"] == 60.0
    assert r["beats"][1] == {"sample": 540, "time_s": 1.5, "label": "V",
                             "p": {"N": 0.0, "S": 0.0, "V": 1.0, "F": 0.0, "Q": 0.0}}  # fmt: skip


def test_the_json_is_streamed_as_dumps_would_write_it_and_a_nan_lands_nothing(tmp_path):
    d = _diagnosis()
    info = diagnosis_json(d, "model", "detector")
    cnn, path = write_diagnosis(d, tmp_path, info)
    assert path.read_text() == json.dumps(info, indent=2, allow_nan=False) + "\n"
    before = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    info["summary"]["unreadable_s"] = float("nan")  # a bug upstream: nothing may be written
    with pytest.raises(ValueError):
        write_diagnosis(d, tmp_path, info)
    assert {f.name: f.read_bytes() for f in tmp_path.iterdir()} == before  # no scratch left


def test_reference_beats_mode_reports_agreement(tmp_path, excerpt_dir, model_args, capsys):
    out = tmp_path / "out"
    args = ["predict", str(excerpt_dir / "119"), "--beats-from", "atr", "--out", str(out)]
    assert main([*args, *model_args]) == 0
    r = json.loads((out / "119.json").read_text())
    reference = wfdb.rdann(str(excerpt_dir / "119"), "atr")
    n_reference = sum(sym in "NLRejAaJSVEFQf/" for sym in reference.symbol)
    assert r["beats_from"] == "atr" and r["summary"]["n_beats"] == n_reference
    assert 0.0 <= r["summary"]["agreement_with_reference"] <= 1.0
    assert "agreement with the reference labels" in capsys.readouterr().out


def test_several_records_in_one_call(tmp_path, excerpt_dir, model_args):
    out = tmp_path / "out"
    records = [str(excerpt_dir / r) for r in ("100", "208", "232")]
    assert main(["predict", *records, "--out", str(out), *model_args]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{r}.{ext}" for r in ("100", "208", "232") for ext in ("cnn", "json")
    )


def test_non_finite_probabilities_become_q():
    from arrhythmia.inference.diagnose import unclassifiable_as_q

    proba = np.array([[0.9, 0.1, 0, 0, 0], [np.nan, 0.2, 0.2, 0.2, 0.2], [0.1, np.inf, 0, 0, 0]],
                     dtype=np.float32)  # fmt: skip
    out = unclassifiable_as_q(proba)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out.argmax(axis=1), [0, 4, 4])
    np.testing.assert_allclose(out[0], [0.9, 0.1, 0, 0, 0])
