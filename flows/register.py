"""Flow `register`: a new version of the registered model; `champion` moves only on a
better DS1-validation gate score."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.artifacts import read_run
from arrhythmia.config import load_params

REGISTER_REPORT = Path("metrics/register.json")


@flow(name="register")
def register_flow(params_path: str = "params.yaml") -> dict:
    from arrhythmia.evaluation.ec57 import write_metrics_json
    from arrhythmia.tracking.mlflow_setup import configure_tracking
    from arrhythmia.tracking.registry import register_and_gate

    p = load_params(params_path)
    configure_tracking()
    run = read_run(p.train.model_dir)
    decision = register_and_gate(
        run["run_id"],
        p.register.gate_metric,
        greater_is_better=p.register.greater_is_better,
        model_name=p.register.model_name,
        model_uri=run.get("model_uri"),
    )
    write_metrics_json(REGISTER_REPORT, decision.to_dict())
    get_run_logger().info("register: %s", decision.reason)
    return decision.to_dict()
