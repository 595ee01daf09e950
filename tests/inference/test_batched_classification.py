"""Records classified together (many short strips in one model call) get exactly what each
gets alone: every record, and every chunk of one, keeps its own template and neighbours."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.readers import RecordError
from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference import diagnose as diagnose_module
from arrhythmia.inference import many_records
from arrhythmia.inference import predict as predict_module
from arrhythmia.inference.diagnose import (
    classified_beats,
    classified_records,
    classify_beats,
    classify_records,
    detect_beats,
)
from arrhythmia.inference.many_records import read_and_diagnose_many
from arrhythmia.inference.model_handle import classifier_handle
from arrhythmia.inference.predict import read_and_diagnose, read_lead_first
from arrhythmia.training import strip_af
from tests.helpers import tiny_classifier

RECORDS = ("100", "119", "208", "232")
CINC = Path(__file__).parents[1] / "data" / "cinc2017_excerpt"


def _with_neighbours(classifier):
    """The same tiny network with the neighbouring beats as inputs and the sinus-cluster
    template: the shipped model's inputs, each computed per record (or chunk)."""
    import torch

    from arrhythmia.models.cnn import BeatCNN

    config = replace(classifier.config, in_channels=8)
    torch.manual_seed(1)
    states = [BeatCNN(config).state_dict() for _ in range(2)]
    return replace(
        classifier,
        config=config,
        state_dicts=states,
        neighbours=True,
        template_rule="sinus_cluster",
    )


@pytest.fixture(params=["median template", "neighbours, sinus cluster"])
def handle(params, request):
    # beat minus the record's template is an input: records mixed up would change it
    classifier = tiny_classifier(preprocess=vars(params.preprocess))
    if request.param != "median template":
        classifier = _with_neighbours(classifier)
    return classifier_handle(classifier, request.param)


@pytest.fixture
def read(excerpt_dir):
    return [read_lead_first(excerpt_dir / name) for name in RECORDS]


@pytest.mark.parametrize(("batch_beats", "chunk_s"), [(8192, 1800.0), (50, 1800.0), (8192, 10.0)])
def test_records_classified_together_match_each_classified_alone(
    handle, read, detector_file, monkeypatch, batch_beats, chunk_s
):
    detector = QrsDetector.load(detector_file)
    samples = [detect_beats(ecg, detector).samples for ecg, _ in read]
    monkeypatch.setattr(diagnose_module, "CHUNK_S", chunk_s)  # 10 s: 3 chunks a record
    alone = [classify_beats(ecg, s, handle) for (ecg, _), s in zip(read, samples, strict=True)]
    monkeypatch.setattr(diagnose_module, "BATCH_BEATS", batch_beats)  # 50: calls split records
    calls = []

    def spy(windows, rr, units=None):
        calls.append(units)
        return handle.predict(windows, rr, units)

    lone_beat = (read[0][0], samples[0][:1])
    together = classify_records(
        [(ecg, s) for (ecg, _), s in zip(read, samples, strict=True)] + [lone_beat],
        replace(handle, predict=spy),
    )
    if batch_beats > sum(map(len, samples)):  # one call, each chunk its own template
        chunks = 1 if chunk_s > 30 else 3
        assert len(calls) == 1 and len(np.unique(calls[0])) == chunks * len(RECORDS)
    else:
        assert len(calls) > 1
    assert len(together) == len(RECORDS) + 1
    for one, joint in zip(alone, together, strict=False):
        assert one.shape == joint.shape and len(one) > 20
        np.testing.assert_allclose(joint, one, rtol=0, atol=1e-6)
    assert together[-1].argmax(axis=1).tolist() == [AAMI_CLASSES.index("Q")]


def test_one_template_for_two_records_changes_their_probabilities(handle, read, detector_file):
    """What the units keep apart matters: the check above could not pass by accident."""
    detector = QrsDetector.load(detector_file)
    (a, _), (b, _) = read[0], read[3]
    spied = {}

    def spy(windows, rr, units=None):
        spied["inputs"] = windows, rr, units
        return handle.predict(windows, rr, units)

    classify_records(
        [(a, detect_beats(a, detector).samples), (b, detect_beats(b, detector).samples)],
        replace(handle, predict=spy),
    )
    windows, rr, units = spied["inputs"]
    assert not np.allclose(handle.predict(windows, rr, None), handle.predict(windows, rr, units))


def test_classified_records_are_classified_beats_of_each(handle, read, detector_file):
    detector = QrsDetector.load(detector_file)
    together = classified_records([(*one, None) for one in read], handle, detector)
    for (ecg, quality), joint in zip(read, together, strict=True):
        one = classified_beats(ecg, handle, detector, quality)
        np.testing.assert_array_equal(joint.samples, one.samples)
        np.testing.assert_array_equal(joint.labels, one.labels)
        np.testing.assert_allclose(joint.proba, one.proba, rtol=0, atol=1e-6)
        assert joint.noisy == one.noisy and joint.unreadable == one.unreadable


def _same_diagnosis(a, b) -> None:
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.proba, b.proba, rtol=0, atol=1e-6)
    assert a.episodes == b.episodes and a.unreadable == b.unreadable and a.pauses == b.pauses


@pytest.mark.parametrize("samples_at_once", [2_000_000, 1])
def test_many_records_are_diagnosed_in_order_as_each_alone_and_failures_stay_apart(
    handle, excerpt_dir, detector_file, tmp_path, monkeypatch, samples_at_once
):
    detector = QrsDetector.load(detector_file)
    monkeypatch.setattr(many_records, "SAMPLES_AT_ONCE", samples_at_once)
    paths = [excerpt_dir / "100", tmp_path / "absent", CINC / "A00006", excerpt_dir / "119"]
    done = list(read_and_diagnose_many(paths, handle, detector))
    assert [path for path, _ in done] == paths
    assert isinstance(done[1][1], RecordError)
    for path, result in (done[0], done[2], done[3]):
        ecg, d = result
        alone_ecg, alone = read_and_diagnose(path, handle, detector)
        assert ecg.leads == alone_ecg.leads and len(d.samples) > 10
        _same_diagnosis(d, alone)


def test_a_joint_call_that_fails_is_retried_one_record_at_a_time(
    handle, excerpt_dir, detector_file
):
    detector = QrsDetector.load(detector_file)
    n_232 = len(detect_beats(read_lead_first(excerpt_dir / "232")[0], detector).samples)

    def fails_together_and_on_232(windows, rr, units=None):
        if len(np.unique(units)) > 1 or len(windows) == n_232:
            raise RuntimeError("out of memory")
        return handle.predict(windows, rr, units)

    picky = replace(handle, predict=fails_together_and_on_232)
    paths = [excerpt_dir / "100", excerpt_dir / "232", excerpt_dir / "119"]
    done = list(read_and_diagnose_many(paths, picky, detector))
    assert [path for path, _ in done] == paths
    assert isinstance(done[1][1], RuntimeError)
    for path, (_, d) in (done[0], done[2]):
        _same_diagnosis(d, read_and_diagnose(path, handle, detector)[1])


def test_a_record_whose_rhythm_step_fails_fails_alone(
    handle, excerpt_dir, detector_file, monkeypatch
):
    detector = QrsDetector.load(detector_file)
    real = predict_module.diagnosis_of_beats

    def fails_on_119(ecg, *args, **kwargs):
        if ecg.name == "119":
            raise ValueError("no rhythm")
        return real(ecg, *args, **kwargs)

    monkeypatch.setattr(predict_module, "diagnosis_of_beats", fails_on_119)
    paths = [excerpt_dir / "100", excerpt_dir / "119", excerpt_dir / "208"]
    outcomes = [outcome for _, outcome in read_and_diagnose_many(paths, handle, detector)]
    assert isinstance(outcomes[1], ValueError)
    assert [d.record for _, d in (outcomes[0], outcomes[2])] == ["100", "208"]


def test_strip_rows_are_the_same_whatever_the_number_of_strips_read_at_once(
    handle, detector_file, monkeypatch
):
    detector = QrsDetector.load(detector_file)
    labels = {"A00006": "N", "A00009": "A"}
    together = strip_af.strip_rows(CINC, handle, detector, labels)
    monkeypatch.setattr(strip_af, "STRIPS_AT_ONCE", 1)
    alone = strip_af.strip_rows(CINC, handle, detector, labels)
    np.testing.assert_allclose(together.rows, alone.rows, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(together.readable, alone.readable)
