"""Flow `validate_dataset`: the Great Expectations gate on the beat dataset.

A failed expectation exits non-zero with a readable summary; the HTML report (GX Data Docs)
goes under reports/validation/dataset. A pass writes a small deterministic record (what was
checked, the dataset's hash) that the train stage depends on.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.validation.gx_runner import ValidationOutcome
from arrhythmia.validation.receipt import input_digests, write_receipt
from flows.stage_cli import run_stage, stage_parser
from flows.validation_gate import gate


@flow(name="validate-dataset")
def validate_dataset_flow(params_path: str = "params.yaml") -> ValidationOutcome:
    from arrhythmia.validation.dataset import validate_beat_dataset

    p = load_params(params_path)
    dataset = Path(p.paths.dataset)
    report_dir = Path(p.paths.validation_reports) / "dataset"
    Path(p.paths.dataset_passed).unlink(missing_ok=True)  # a failed run must not leave a pass
    outcome = gate(validate_beat_dataset(load_dataset(dataset), p.validate_dataset, report_dir))
    write_receipt(p.paths.dataset_passed, outcome, input_digests([dataset], dataset.parent))
    return outcome


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        return validate_dataset_flow(params_path=args.params).summary()

    return run_stage(stage_parser("validate_dataset", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
