"""Flow `pipeline`: the whole DVC pipeline (`dvc repro`), and its scheduled deployment.

`dvc repro` decides what is stale, and each stage it runs is itself a Prefect flow, so a
scheduled run shows up as this flow plus one flow run per stage that had work to do.

    python -m flows.pipeline          # serve the deployment on the cron in params.yaml
    python -m flows.pipeline --once   # run the pipeline once now
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.config import load_params
from arrhythmia.errors import ArrhythmiaError
from flows.stage_cli import run_stage, stage_parser


class PipelineFailed(ArrhythmiaError):
    """`dvc repro` exited non-zero."""


@flow(name="pipeline")
def pipeline_flow(project_dir: str = ".") -> str:
    logger = get_run_logger()
    done = subprocess.run(
        ["dvc", "repro"], cwd=Path(project_dir), capture_output=True, text=True, check=False
    )
    logger.info(done.stdout[-20_000:])
    if done.returncode != 0:
        raise PipelineFailed(f"dvc repro failed (exit {done.returncode}):\n{done.stderr[-5_000:]}")
    return done.stdout


def serve_schedule(params_path: str = "params.yaml") -> None:
    """Serve the pipeline as a deployment that runs on the cron schedule in params.yaml
    (blocks; a Prefect server or Prefect Cloud shows the runs)."""
    schedule = load_params(params_path).schedule
    pipeline_flow.serve(name=schedule.deployment_name, cron=schedule.cron)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("pipeline", __doc__)
    parser.add_argument("--once", action="store_true", help="run the pipeline once and exit")

    def action(args) -> str:
        if args.once:
            return pipeline_flow()
        serve_schedule(args.params)
        return "pipeline: schedule stopped"

    return run_stage(parser, argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
