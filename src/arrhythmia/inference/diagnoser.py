"""The one way a diagnosis is asked for, by `arrhythmia predict`, the batch flow and the
served model alike: the options with params.yaml's defaults, the model and detector loaded
once, each record or signal diagnosed (inference/predict.py) and reported, its files
written with the lines that say so, and each failure named on one line."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np

from arrhythmia.console import EXPECTED_ERRORS
from arrhythmia.data.readers import record_name
from arrhythmia.detection.model import QrsDetector
from arrhythmia.errors import ArrhythmiaError
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.inference.many_records import caught, read_and_diagnose_many
from arrhythmia.inference.model_handle import ModelHandle, is_model_uri, load_model
from arrhythmia.inference.outputs import diagnosis_json, write_diagnosis
from arrhythmia.inference.predict import diagnose_signal, read_and_diagnose
from arrhythmia.signal.ecg import EcgRecord

# draws a diagnosed record's HTML page: (diagnosis, signal, its JSON, path) -> path
PageWriter = Callable[[Diagnosis, np.ndarray, dict, Path], Path]


class RecordsFailed(ArrhythmiaError):
    """Records of one call failed (each was reported) or would overwrite each other's files."""


@dataclass(frozen=True)
class DiagnosisOptions:
    """Where beats and classes come from (`arrhythmia predict`'s options); None: the default."""

    params: str = "params.yaml"
    model: str | None = None
    detector: str | None = None
    beats_from: str | None = None
    lead: str | None = None
    fs: float | None = None

    @classmethod
    def from_args(cls, args) -> DiagnosisOptions:
        """The options from parsed command-line arguments of the same names."""
        return cls(**{option.name: getattr(args, option.name) for option in fields(cls)})


class Diagnosed(NamedTuple):
    ecg: EcgRecord  # as diagnosed: the lead read first
    diagnosis: Diagnosis
    json: dict  # the diagnosis as JSON (outputs.diagnosis_json)


def _default_paths(options: DiagnosisOptions):
    from arrhythmia.config import load_params

    return load_params(options.params).paths


def named_files(options: DiagnosisOptions) -> tuple[str, str | None]:
    """The model and detector files the options name, params.yaml's where they name none
    (read only then). No detector where beats come from annotations, nor for a registered
    model (a URI) unless named: it may carry its own."""
    model, detector = options.model, options.detector
    if options.beats_from is not None:
        return model or _default_paths(options).model, None
    if model is None or (detector is None and not is_model_uri(model)):
        paths = _default_paths(options)
        model = model or paths.model
        if detector is None and not is_model_uri(model):
            detector = paths.qrs_detector
    return model, detector


@dataclass(frozen=True)
class Diagnoser:
    """A loaded model and QRS detector, and the options every record is diagnosed with."""

    model: ModelHandle
    detector: QrsDetector | None
    detector_name: str | None  # what the diagnosis JSON names as the detector
    options: DiagnosisOptions = field(default_factory=DiagnosisOptions)

    def record(self, path: str | Path) -> Diagnosed:
        """A record file (any accepted format) read and diagnosed."""
        o = self.options
        ecg, d = read_and_diagnose(
            path, self.model, self.detector, beats_from=o.beats_from, lead=o.lead, fs=o.fs
        )
        return self._diagnosed(ecg, d)

    def records(
        self, paths: Iterable[str | Path]
    ) -> Iterator[tuple[str | Path, Diagnosed | Exception]]:
        """:meth:`record` of each path, in order, short records diagnosed together; where
        one fails, the exception takes its Diagnosed's place."""
        o = self.options
        done = read_and_diagnose_many(
            paths, self.model, self.detector, beats_from=o.beats_from, lead=o.lead, fs=o.fs
        )
        for path, outcome in done:
            if not isinstance(outcome, Exception):
                outcome = caught(self._diagnosed, *outcome)
            yield path, outcome
            del outcome  # a day-long record's JSON must not outlive its turn

    def _diagnosed(self, ecg: EcgRecord, d: Diagnosis) -> Diagnosed:
        return Diagnosed(ecg, d, diagnosis_json(d, self.model.description, self.detector_name))

    def signal(self, ecg: EcgRecord) -> Diagnosed:
        """A signal already in memory (a served request), beats from the detector."""
        ecg, d = diagnose_signal(ecg, self.model, self.detector, lead=self.options.lead)
        return self._diagnosed(ecg, d)


def load_diagnoser(options: DiagnosisOptions) -> Diagnoser:
    """The model and detector the options name, loaded once for all the records."""
    model_file, detector_file = named_files(options)
    model = load_model(model_file)
    if options.beats_from is not None:
        return Diagnoser(model, None, None, options)
    if detector_file is None and model.detector is not None:
        return Diagnoser(model, model.detector, f"{model.description} (its own)", options)
    detector_file = detector_file or _default_paths(options).qrs_detector
    return Diagnoser(model, QrsDetector.load(detector_file), detector_file, options)


def distinct_records(records: Sequence[str]) -> list[str]:
    """The records, refused where two would write the same output files."""
    names = [record_name(r) for r in records]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RecordsFailed(
            f"records {repeated} would write the same output files: "
            "diagnose them in separate calls or folders"
        )
    return list(records)


def diagnose_into(
    diagnoser: Diagnoser, record: str | Path, out: str | Path, page: PageWriter | None = None
) -> list[str]:
    """Diagnose one record and write OUT/<record>.cnn and .json (and the HTML page that
    `page` draws, where given); the lines that say what was found and written."""
    return _written(diagnoser.record(record), out, page)


def diagnose_all_into(
    diagnoser: Diagnoser,
    records: Iterable[str | Path],
    out: str | Path,
    page: PageWriter | None = None,
) -> Iterator[tuple[str | Path, list[str] | Exception]]:
    """:func:`diagnose_into` of each record, in order, short records diagnosed together:
    each with its lines, or the exception that stopped it (the others still finish)."""
    for record, diagnosed in diagnoser.records(records):
        if not isinstance(diagnosed, Exception):  # a file that cannot be written: this one
            diagnosed = caught(_written, diagnosed, out, page)
        yield record, diagnosed
        del diagnosed


def _written(diagnosed: Diagnosed, out: str | Path, page: PageWriter | None) -> list[str]:
    ecg, d, info = diagnosed
    written = list(write_diagnosis(d, out, info))
    if page is not None:
        written.append(page(d, ecg.signal, info, Path(out) / f"{d.record}.html"))
    return summary_lines(d.record, info, written)


def summary_lines(record: str, info: dict, written: list) -> list[str]:
    summary = info["summary"]
    counts = ", ".join(f"{c} {n}" for c, n in summary["beats_per_class"].items())
    rhythms = ", ".join(f"{r} {s:.0f} s" for r, s in summary["time_in_rhythm_s"].items())
    lines = [f"predict: {record}: {summary['n_beats']} beats ({counts}); {rhythms}"]
    if summary["unreadable_s"]:
        lines.append(f"predict: {record}: {summary['unreadable_s']:.0f} s unreadable")
    if "agreement_with_reference" in summary:
        lines.append(
            f"predict: {record}: agreement with the reference labels "
            f"{summary['agreement_with_reference']}"
        )
    names = [str(path) for path in written]
    lines.append(f"predict: wrote {', '.join(names[:-1])} and {names[-1]}")
    return lines


def failure_line(prog: str, record: str | Path, error: BaseException) -> str:
    """One line naming the record and why it failed (with the error's type where that is
    not one a user can cause)."""
    kind = "" if isinstance(error, EXPECTED_ERRORS) else f"{type(error).__name__}: "
    return f"{prog}: error: {record_name(record)}: {kind}{error}"


def records_failed(records: Sequence[str | Path], total: int) -> RecordsFailed:
    """The error that ends a call in which these records (of `total`) failed."""
    names = ", ".join(record_name(r) for r in records)
    return RecordsFailed(f"{len(records)} of {total} records failed: {names}")
