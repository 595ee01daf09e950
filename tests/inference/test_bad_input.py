"""Bad input on real excerpts (MITDB record 100, 30 s, with the corruption added): no crash
and no NaN anywhere in the output; unreadable stretches become a NOISE episode without
beats and the JSON says how long they last; an unusable file (no readable lead at all
included) is a one-line error naming it, and the other records of the same call still
finish."""

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb

from arrhythmia.cli import main

FS = 360


def _excerpt(excerpt_dir: Path) -> np.ndarray:
    return wfdb.rdrecord(str(excerpt_dir / "100")).p_signal.copy()


def _write_record(folder: Path, name: str, signal: np.ndarray, fs: float = FS, leads=None):
    leads = leads or ["MLII", "V5"][: signal.shape[1]]
    wfdb.wrsamp(name, fs=fs, units=["mV"] * signal.shape[1], sig_name=leads, p_signal=signal,
                fmt=["16"] * signal.shape[1], adc_gain=[200.0] * signal.shape[1],
                baseline=[0] * signal.shape[1], write_dir=str(folder))  # fmt: skip
    return folder / name


def _no_nan(text: str) -> dict:
    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON output")

    return json.loads(text, parse_constant=refuse)


def _predict(paths, out: Path, model_args, *extra) -> int:
    return main(["predict", *map(str, paths), "--out", str(out), *model_args, *extra])


def _report(out: Path, name: str) -> dict:
    report = _no_nan((out / f"{name}.json").read_text())
    annotations = wfdb.rdann(str(out / name), "cnn")
    assert len(annotations.sample) == len(annotations.symbol)
    return report


def _noise_covers(report: dict, start_s: float, end_s: float) -> bool:
    noise = [(e["start_s"], e["end_s"]) for e in report["episodes"] if e["type"] == "NOISE"]
    return any(a <= start_s + 2 and b >= end_s - 2 for a, b in noise)


def _no_beats_between(report: dict, start_s: float, end_s: float) -> bool:
    return not any(start_s + 1 < b["time_s"] < end_s - 1 for b in report["beats"]
                   if b["label"] != "Q")  # fmt: skip


def test_a_record_with_no_readable_lead_is_refused_in_one_line(tmp_path, model_args, capsys):
    """Flat from start to end: nothing to diagnose, as the served model answers too."""
    record = _write_record(tmp_path, "flat", np.zeros((FS * 30, 2)))
    assert _predict([record], tmp_path / "out", model_args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("arrhythmia predict: error: record flat: no readable signal"), err
    assert "flat or missing" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out" / "flat.json").exists()


@pytest.mark.parametrize("kind", ["constant", "zero"])
def test_a_leads_off_stretch_is_noise_without_beats(tmp_path, excerpt_dir, model_args, kind):
    signal = _excerpt(excerpt_dir)
    signal[FS * 10 : FS * 20] = signal[FS * 10] if kind == "constant" else 0.0
    record = _write_record(tmp_path, "off", signal)
    assert _predict([record], tmp_path / "out", model_args) == 0
    report = _report(tmp_path / "out", "off")
    assert 8.0 <= report["summary"]["unreadable_s"] <= 12.0
    assert _noise_covers(report, 10, 20) and _no_beats_between(report, 10, 20)
    assert report["summary"]["n_beats"] >= 20  # the readable 20 s keep their beats


def test_nan_samples_in_a_csv_are_leads_off(tmp_path, excerpt_dir, model_args):
    signal = _excerpt(excerpt_dir)
    signal[FS * 5 : FS * 15] = np.nan
    csv = tmp_path / "gap.csv"
    np.savetxt(csv, signal, delimiter=",", header="MLII,V5", comments="", fmt="%.4f")
    assert "nan" in csv.read_text()
    assert _predict([csv], tmp_path / "out", model_args, "--fs", "360") == 0
    report = _report(tmp_path / "out", "gap")
    assert report["leads"] == ["MLII", "V5"]
    assert _noise_covers(report, 5, 15) and _no_beats_between(report, 5, 15)


def test_adc_saturation_is_unreadable(tmp_path, excerpt_dir, model_args):
    signal = _excerpt(excerpt_dir)
    limit = 32767 / 200.0  # the 16-bit ADC's range at 200 units/mV
    signal[FS * 10 : FS * 20] = np.clip(signal[FS * 10 : FS * 20] * 1e4, -limit, limit)
    record = _write_record(tmp_path, "clipped", signal)
    assert _predict([record], tmp_path / "out", model_args) == 0
    report = _report(tmp_path / "out", "clipped")
    assert _noise_covers(report, 10, 20) and _no_beats_between(report, 10, 20)


def test_a_noise_only_stretch_is_unreadable(tmp_path, excerpt_dir, model_args):
    signal = _excerpt(excerpt_dir)
    rng = np.random.default_rng(0)
    signal[FS * 10 : FS * 20] = rng.normal(0, 1.0, size=(FS * 10, 2))
    record = _write_record(tmp_path, "noisy", signal)
    assert _predict([record], tmp_path / "out", model_args) == 0
    report = _report(tmp_path / "out", "noisy")
    assert _noise_covers(report, 10, 20) and _no_beats_between(report, 10, 20)
    assert report["summary"]["unreadable_s"] >= 8.0


def test_a_single_lead_record_is_diagnosed(tmp_path, excerpt_dir, model_args):
    record = _write_record(tmp_path, "one", _excerpt(excerpt_dir)[:, :1], leads=["II"])
    assert _predict([record], tmp_path / "out", model_args) == 0
    report = _report(tmp_path / "out", "one")
    assert report["leads"] == ["II"] and report["summary"]["n_beats"] >= 30


def test_unusable_files_fail_alone_with_one_line_each(tmp_path, excerpt_dir, model_args, capsys):
    signal = _excerpt(excerpt_dir)
    short = _write_record(tmp_path, "short", signal[: FS * 5])
    slow = _write_record(tmp_path, "slow", signal[: 20 * 40], fs=20)  # 40 s at 20 Hz
    fast = _write_record(tmp_path, "fast", signal, fs=20_000)
    good = _write_record(tmp_path, "good", signal)
    out = tmp_path / "out"
    assert _predict([short, slow, good, fast], out, model_args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("arrhythmia predict: error: ")]
    assert any("short:" in e and "at least 10 s" in e for e in errors), err
    assert any("slow:" in e and "20 Hz is out of range" in e for e in errors), err
    assert any("fast:" in e and "20000 Hz is out of range" in e for e in errors), err
    assert errors[-1].endswith("3 of 4 records failed: short, slow, fast"), err
    assert "Traceback" not in "\n".join(err)
    assert sorted(p.name for p in out.iterdir()) == ["good.cnn", "good.json"]


def test_edf_and_csv_inputs_give_the_same_beats(tmp_path, excerpt_dir, model_args):
    from wfdb.io.convert.edf import wfdb_to_edf

    edf = tmp_path / "rec100.edf"
    wfdb_to_edf(str(excerpt_dir / "100"), output_filename=str(edf))
    csv = tmp_path / "rec100.csv"
    np.savetxt(csv, _excerpt(excerpt_dir), delimiter=",", fmt="%.5f")
    assert _predict([edf], tmp_path / "edf", model_args) == 0
    assert _predict([csv], tmp_path / "csv", model_args, "--fs", "360") == 0
    from_edf, from_csv = _report(tmp_path / "edf", "rec100"), _report(tmp_path / "csv", "rec100")
    assert from_edf["leads"][0] == "MLII" and from_csv["leads"] == ["lead0", "lead1"]
    assert from_csv["summary"]["n_beats"] >= 30
    # EDF pads the record to whole 10-s data blocks: that padding is flat, so unreadable
    assert from_edf["duration_s"] == 40.0 and _noise_covers(from_edf, 30, 40)
    assert abs(from_csv["summary"]["n_beats"] - from_edf["summary"]["n_beats"]) <= 1


def test_a_csv_without_a_sampling_rate_is_one_line(tmp_path, excerpt_dir, model_args, capsys):
    csv = tmp_path / "rec.csv"
    np.savetxt(csv, _excerpt(excerpt_dir), delimiter=",", fmt="%.5f")
    assert _predict([csv], tmp_path / "out", model_args) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"arrhythmia predict: error: {csv}: a CSV file has no sampling rate: give it with --fs"
    )


def test_a_slow_rate_an_odd_name_and_infinities_still_give_a_clean_report(
    tmp_path, excerpt_dir, model_args
):
    from scipy.signal import resample_poly

    slow = _write_record(tmp_path, "slow55", resample_poly(_excerpt(excerpt_dir), 55, 360, axis=0),
                         fs=55)  # fmt: skip
    signal = _excerpt(excerpt_dir)
    signal[FS * 3 : FS * 4] = np.inf
    odd = tmp_path / "patient 1.v2.csv"
    np.savetxt(odd, signal, delimiter=",", fmt="%.5f")
    out = tmp_path / "out"
    assert _predict([slow, odd], out, model_args, "--fs", "360") == 0
    assert _report(out, "slow55")["summary"]["n_beats"] >= 30
    assert _no_nan((out / "patient 1.v2.json").read_text())["summary"]["n_beats"] >= 25
    assert wfdb.rdann(str(out / "patient 1.v2"), "cnn").fs == 360


def test_records_that_would_share_output_files_are_refused(
    tmp_path, excerpt_dir, model_args, capsys
):
    csv = tmp_path / "100.csv"
    np.savetxt(csv, _excerpt(excerpt_dir), delimiter=",", fmt="%.5f")
    assert _predict([excerpt_dir / "100", csv], tmp_path / "out", model_args, "--fs", "360") == 1
    assert "would write the same output files" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_records_fail_before_the_model_loads(tmp_path, excerpt_dir, model_args, capsys):
    """Files that are not there are named at once; a missing model is never reached when
    every record is missing, and the records that are there are still diagnosed."""
    good = _write_record(tmp_path, "good", _excerpt(excerpt_dir))
    gone = [str(tmp_path / "gone"), str(tmp_path / "lost.edf"), str(tmp_path / "away.csv")]
    no_model = ["--model", str(tmp_path / "none.pt")]
    assert _predict(gone, tmp_path / "none", no_model) == 1
    err = capsys.readouterr().err
    assert "no trained model" not in err and "3 of 3 records failed" in err, err
    assert err.count("no such") == 3, err
    assert not (tmp_path / "none").exists()

    out = tmp_path / "out"
    short = _write_record(tmp_path, "short", _excerpt(excerpt_dir)[: FS * 5])
    assert _predict([short, gone[0], good], out, model_args) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert any("gone.hea: no such WFDB header" in line for line in errors), errors
    assert errors[-1].endswith("2 of 3 records failed: short, gone"), errors  # input order
    assert sorted(p.name for p in out.iterdir()) == ["good.cnn", "good.json"]
