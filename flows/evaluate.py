"""Flow `evaluate`: the trained model on DS2, at the reference beats and end to end.

At the reference beat positions (what the literature reports; the labels as the product gives
them: no premature beat inside the AF or flutter it finds itself): EC57 statistics (VEB/SVEB
Se and +P), per-class precision/recall/F1, accuracy, macro F1, a per-record table, plots.
End to end (what a user gets): every raw DS2 record diagnosed as `arrhythmia predict` does
(own beat detection, classes, rhythm episodes), scored against the reference beats (150 ms
matching; missed and extra beats count) and rhythm annotations (AF and VT episodes), and
the Holter-style report of one of them (params.yaml: evaluate.holter_record) written as
an example of what a cardiologist gets. All are logged to the training run in MLflow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.artifacts import read_run
from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from flows.stage_cli import run_stage, stage_parser
from flows.tracking import activate_tracking


@flow(name="evaluate")
def evaluate_flow(params_path: str = "params.yaml") -> dict:
    from arrhythmia.data.records import RecordSelection
    from arrhythmia.evaluation.at_reference import score_at_reference
    from arrhythmia.evaluation.record_scoring import score_end_to_end
    from arrhythmia.evaluation.result_files import (
        write_at_reference_reports,
        write_end_to_end_reports,
    )
    from arrhythmia.models.bundle import BeatClassifier
    from arrhythmia.tracking.mlflow_setup import require_run
    from arrhythmia.tracking.run_logging import log_evaluation

    params = load_params(params_path)
    paths, settings = params.paths, params.evaluate
    reports = Path(paths.evaluate_reports)
    # Before any work: the figures must land on the run that made the model.
    run_id = read_run(paths.mlflow_run)["run_id"]
    require_run(run_id, paths.mlflow_run)
    ds2_records = RecordSelection.from_params(params.data.subset).ds2
    if settings.holter_record not in ds2_records:
        raise ValueError(
            f"evaluate.holter_record {settings.holter_record!r} in "
            f"{params_path} is not a DS2 record of the run"
        )
    activate_tracking()

    arrays, classifier = load_dataset(paths.dataset), BeatClassifier.load(paths.model)
    ds2 = score_at_reference(arrays, classifier, paths.raw_dir, settings.single_out)
    ds2_written = write_at_reference_reports(ds2, paths.ds2_metrics, reports, settings.single_out)
    holter = reports / "holter.html"
    diagnose = diagnose_drawing(paths, settings.holter_record, holter)
    whole = score_end_to_end(ds2_records, paths.raw_dir, diagnose)
    whole_written = write_end_to_end_reports(whole, paths.ds2_end_to_end, reports)

    files = [*ds2_written.files, *whole_written.files, paths.qrs_detector, holter]
    log_evaluation(run_id, ds2.metrics, whole.pooled, ds2_written.average_precision, files)
    get_run_logger().info("DS2 (all %d beats):\n%s", len(ds2.y_true), ds2_written.table)
    get_run_logger().info("DS2 end to end:\n%s", whole_written.table)
    return {
        "at_reference": ds2.metrics,
        "end_to_end": whole.pooled,
        "tables": {"at_reference": ds2_written.table, "end_to_end": whole_written.table},
    }


def diagnose_drawing(paths, holter_record: str, holter: Path) -> Callable:
    """A record's path in, its diagnosis out, as `arrhythmia predict` makes it with the
    pipeline's model and detector; the Holter-style report of `holter_record` is written
    to `holter` on the way (the signal is at hand there: each record is read once)."""
    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.inference.model_handle import load_model
    from arrhythmia.inference.outputs import diagnosis_json
    from arrhythmia.inference.predict import read_and_diagnose
    from arrhythmia.reporting import render_holter

    model, detector = load_model(paths.model), QrsDetector.load(paths.qrs_detector)

    def diagnose(path: Path):
        ecg, d = read_and_diagnose(path, model, detector)
        if path.name == holter_record:
            render_holter(d, ecg.signal, diagnosis_json(d, paths.model, paths.qrs_detector), holter)
        return d

    return diagnose


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        tables = evaluate_flow(params_path=args.params)["tables"]
        return (
            "DS2, every beat at the reference positions (inter-patient):\n"
            + tables["at_reference"]
            + "\n\nDS2 end to end (own beat detection, 150 ms matching):\n"
            + tables["end_to_end"]
        )

    return run_stage(stage_parser("evaluate", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
