"""EDF and EDF+ in: files with an annotation signal, as every EDF+ file has, read like the
WFDB record they came from and give the same beats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb

from arrhythmia.cli import main
from arrhythmia.data.readers import RecordError, read_record

# MITDB 208's first 30 s written by pyedflib as EDF+ with its beat labels as annotations
PYEDFLIB_208 = Path(__file__).parents[1] / "data" / "edf" / "208_excerpt_pyedflib.edf"


def _beats(paths, out: Path, model_args, *extra) -> dict[str, list[tuple[float, str]]]:
    assert main(["predict", *map(str, paths), "--out", str(out), *model_args, *extra]) == 0
    beats = {}
    for path in paths:
        report = json.loads((out / f"{Path(path).stem}.json").read_text())
        beats[Path(path).suffix] = [(b["time_s"], b["label"]) for b in report["beats"]]
    return beats


def _write_csv(path: Path, signal: np.ndarray, leads) -> Path:
    np.savetxt(path, signal, delimiter=",", fmt="%.5f", header=",".join(leads), comments="")
    return path


def test_an_edf_plus_file_reads_like_its_wfdb_record(excerpt_dir):
    record = read_record(PYEDFLIB_208)
    reference = wfdb.rdrecord(str(excerpt_dir / "208"))
    assert record.name == "208_excerpt_pyedflib" and record.fs == 360.0
    assert record.leads == ("MLII", "V1")  # the "EDF Annotations" signal is not a lead
    np.testing.assert_array_equal(record.signal, reference.p_signal.astype(np.float32))


def test_edf_plus_csv_and_wfdb_give_the_same_beats(tmp_path, excerpt_dir, model_args):
    folder = tmp_path / "in"
    folder.mkdir()
    edf = folder / "208.edf"
    edf.write_bytes(PYEDFLIB_208.read_bytes())
    reference = wfdb.rdrecord(str(excerpt_dir / "208"))
    csv = _write_csv(folder / "208.csv", reference.p_signal, reference.sig_name)
    beats = {}
    for path in (edf, csv, excerpt_dir / "208"):
        beats.update(_beats([path], tmp_path / f"out{len(beats)}", model_args, "--fs", "360"))
    assert len(beats[".edf"]) >= 30
    assert beats[".edf"] == beats[".csv"] == beats[""]


def test_an_edf_file_in_microvolts_is_read_in_millivolts(tmp_path):
    from edfio import Edf, EdfSignal

    signal = np.sin(np.linspace(0, 60, 360 * 12)) * 1000.0  # 1 mV written as 1000 uV
    Edf([EdfSignal(signal, sampling_frequency=360, label="ECG II", physical_dimension="uV")]).write(
        tmp_path / "uv.edf"
    )
    record = read_record(tmp_path / "uv.edf")
    assert record.leads == ("ECG II",)
    np.testing.assert_allclose(record.signal[:, 0], signal / 1000.0, atol=1e-3)


def test_the_fastest_signals_are_the_leads_and_other_units_are_refused(tmp_path):
    from edfio import Edf, EdfSignal

    ecg = np.sin(np.linspace(0, 60, 250 * 12))
    oxygen = EdfSignal(np.full(12, 97.0), sampling_frequency=1, label="SpO2")
    lead = EdfSignal(ecg, sampling_frequency=250, label="ECG", physical_dimension="mV")
    Edf([oxygen, lead]).write(tmp_path / "psg.edf")
    record = read_record(tmp_path / "psg.edf")
    assert record.fs == 250.0 and record.leads == ("ECG",)
    hot = EdfSignal(ecg, sampling_frequency=250, label="ECG", physical_dimension="degC")
    Edf([hot]).write(tmp_path / "odd.edf")
    with pytest.raises(RecordError, match=r"odd.edf: physical dimension \['degc'\]"):
        read_record(tmp_path / "odd.edf")


def test_a_discontinuous_edf_plus_file_is_refused_in_one_line(tmp_path):
    header = bytearray(PYEDFLIB_208.read_bytes())
    assert header[192:197] == b"EDF+C"
    header[192:197] = b"EDF+D"  # the reserved field: data records with gaps between them
    (tmp_path / "gaps.edf").write_bytes(bytes(header))
    with pytest.raises(RecordError, match=r"gaps.edf: a discontinuous EDF\+ file"):
        read_record(tmp_path / "gaps.edf")


def test_a_file_that_is_not_edf_is_one_line(tmp_path):
    (tmp_path / "bad.edf").write_text("not an EDF header")
    with pytest.raises(RecordError, match="bad.edf: cannot read it as EDF"):
        read_record(tmp_path / "bad.edf")


@pytest.mark.slow
def test_the_whole_of_208_as_edf_plus_csv_and_wfdb_gives_the_same_beats(
    tmp_path, full_mirror, model_args
):
    from edfio import Edf, EdfAnnotation, EdfSignal

    seconds = 1805  # whole EDF data records of 1 s: the record's 650,000 samples cut to these
    raw = wfdb.rdrecord(str(full_mirror / "208"), sampto=360 * seconds, physical=False)
    signal = (raw.d_signal - np.array(raw.baseline)) / np.array(raw.adc_gain)
    labels = wfdb.rdann(str(full_mirror / "208"), "atr", sampto=360 * seconds)
    folder = tmp_path / "in"
    folder.mkdir()
    wfdb.wrsamp(
        "208",
        fs=360,
        units=raw.units,
        sig_name=raw.sig_name,
        d_signal=raw.d_signal,
        fmt=raw.fmt,
        adc_gain=raw.adc_gain,
        baseline=raw.baseline,
        write_dir=str(folder),
    )
    leads = [
        EdfSignal(
            signal[:, i],
            sampling_frequency=360,
            label=name,
            physical_dimension="mV",
            physical_range=(-5.12, 5.115),
            digital_range=(-1024, 1023),
        )
        for i, name in enumerate(raw.sig_name)
    ]
    beat_labels = zip(labels.sample, labels.symbol, strict=True)
    notes = [EdfAnnotation(s / 360, None, sym) for s, sym in beat_labels]
    Edf(leads, annotations=notes).write(folder / "208.edf")
    csv = _write_csv(folder / "208.csv", signal, raw.sig_name)
    beats = {}
    for path in (folder / "208.edf", csv, folder / "208"):
        beats.update(_beats([path], tmp_path / f"out{len(beats)}", model_args, "--fs", "360"))
    assert len(beats[""]) > 2000  # 208 has 2,955 beats; the test detector is fitted on 2 minutes
    assert beats[".edf"] == beats[".csv"] == beats[""]
