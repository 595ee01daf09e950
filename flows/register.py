"""Flow `register`: a new version of the registered model; `champion` moves only on a
better DS1-validation gate score.

Registers the trained run's model (raw ECG in: the whole diagnosis) as a new version of
the MLflow model, with a description of what changed and its headline figures, and its
beat-level model as a version of `<name>-beats`; moves the 'champion' alias of both only
if the run beats the champion on the DS1-validation gate metric named in params.yaml. A
run that is already registered is left as it is.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from arrhythmia.artifacts import read_run
from arrhythmia.config import load_params
from flows.stage_cli import run_stage, stage_parser
from flows.tracking import activate_tracking


@flow(name="register")
def register_flow(params_path: str = "params.yaml") -> dict:
    from arrhythmia.evaluation.ec57 import write_metrics_json
    from arrhythmia.tracking.mlflow_setup import require_run
    from arrhythmia.tracking.registry import register_and_gate

    p = load_params(params_path)
    run = read_run(p.paths.mlflow_run)
    require_run(run["run_id"], p.paths.mlflow_run)
    activate_tracking()
    decision = register_and_gate(
        run["run_id"],
        p.register.gate_metric,
        greater_is_better=p.register.greater_is_better,
        model_name=p.register.model_name,
        model_uri=run.get("model_uri"),
        companions=beat_level_companion(run, p.register.model_name),
    )
    write_metrics_json(p.paths.register_metrics, decision.to_dict())
    get_run_logger().info("register: %s", decision.reason)
    return decision.to_dict()


def beat_level_companion(run: dict, model_name: str) -> dict[str, str]:
    """The run's beat-level model, registered as `<model_name>-beats` beside the main one."""
    from arrhythmia.tracking.registry import BEATS_SUFFIX

    uri = run.get("beat_model_uri")
    return {f"{model_name}{BEATS_SUFFIX}": uri} if uri else {}


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        return f"register: {register_flow(params_path=args.params)['reason']}"

    return run_stage(stage_parser("register", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
