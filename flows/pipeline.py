"""Flow `pipeline`: the whole DVC pipeline (`dvc repro`), and its scheduled deployment.

`dvc repro` decides what is stale, and each stage it runs is itself a Prefect flow, so a
scheduled run shows up as this flow plus one flow run per stage that had work to do. With
PREFECT_API_URL set, every one of them reports to that server (no temporary servers).

    prefect server start                            # the server and its UI (port 4200)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python -m flows.pipeline          # register `pipeline/weekly-retrain` on the cron in
                                      # params.yaml and run its runs (blocks; Ctrl-C stops)
    prefect deployment run pipeline/weekly-retrain  # one run now, from another terminal
    python -m flows.pipeline --once   # run the pipeline once now, without the schedule
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.config import load_params
from arrhythmia.errors import ArrhythmiaError
from flows.stage_cli import run_stage, stage_parser

# dvc prints this line before each stage it runs (and "didn't change, skipping" otherwise).
_STAGE_STARTED = re.compile(r"^Running stage '([^']+)':", re.MULTILINE)


class PipelineFailed(ArrhythmiaError):
    """`dvc repro` exited non-zero, or was asked for something that is not a stage."""


class NoPrefectServer(ArrhythmiaError):
    """A schedule served without a Prefect server to hold it."""


def repro_command(targets: Sequence[str] | None = None) -> list[str]:
    """`dvc repro`, limited to `targets` (stage names: DVC also runs the stale stages they
    depend on). No targets: the whole pipeline."""
    targets = list(targets or [])
    # A target comes from a deployment parameter (the UI, `prefect deployment run --param`):
    # it names a stage, never an option of dvc's.
    refused = [t for t in targets if not t.strip() or t.startswith("-")]
    if refused:
        raise PipelineFailed(f"not a stage name: {', '.join(map(repr, refused))}")
    return ["dvc", "repro", *targets]


def terminal_text(output: str) -> str:
    """Output as a terminal would leave it: of the progress bars redrawn with carriage
    returns, only the last state of each line."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in output.split("\n"))


def stages_run(output: str) -> list[str]:
    """The stages `dvc repro` ran, in order, from its output."""
    return _STAGE_STARTED.findall(output)


def schedule_server(api_url: str | None) -> str:
    """The Prefect API a schedule is registered on. Without one Prefect would start a
    temporary server: it does not run the scheduler service and it goes when this process
    does, so the cron would never fire."""
    if not api_url:
        raise NoPrefectServer(
            "a schedule needs a running Prefect server: start one (`prefect server start`) and "
            "set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)"
        )
    return api_url


@flow(name="pipeline")
def pipeline_flow(project_dir: str = ".", targets: list[str] | None = None) -> list[str]:
    """`dvc repro [targets]` in `project_dir`; returns the stages that ran."""
    logger = get_run_logger()
    command = repro_command(targets)
    logger.info("%s in %s", " ".join(command), Path(project_dir).resolve())
    # The stages' own logs and progress go to stderr: one stream keeps them in order. Bytes,
    # not text: text mode would turn each redraw of a progress bar into a line of its own.
    done = subprocess.run(
        command,
        cwd=Path(project_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    output = terminal_text(done.stdout.decode(errors="replace"))
    logger.info(output[-20_000:])
    if done.returncode != 0:
        raise PipelineFailed(
            f"{' '.join(command)} failed (exit {done.returncode}):\n{output[-5_000:]}"
        )
    return stages_run(output)


def serve_schedule(params_path: str = "params.yaml", project_dir: str = ".") -> None:
    """Register the pipeline as a deployment on the cron in params.yaml and run its runs
    (blocks). The server at PREFECT_API_URL holds the schedule and shows the runs."""
    schedule = load_params(params_path).schedule
    from prefect.settings import PREFECT_API_URL

    schedule_server(PREFECT_API_URL.value())
    deployment = f"{pipeline_flow.name}/{schedule.deployment_name}"

    def pause_then_stop(signum, frame):
        # Ctrl-C: pause the schedule first, so no run is scheduled with nothing serving it,
        # then stop as Prefect does. Prefect's own pause on shutdown runs in its runner's
        # teardown, after other work that a busy machine can make outlast the caller's
        # patience (seen: killed before it paused).
        pause_deployment(deployment)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, pause_then_stop)
    try:
        pipeline_flow.serve(
            name=schedule.deployment_name,
            cron=schedule.cron,
            # absolute: the runs do not depend on where the runner starts its processes
            parameters={"project_dir": str(Path(project_dir).resolve())},
            limit=1,  # two `dvc repro` in one project would fight over its lock
            tags=["arrhythmia"],
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def pause_deployment(name: str) -> None:
    """Pause the deployment `flow/deployment` on the server, if the server has it."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.pause_deployment(client.read_deployment_by_name(name).id)
        except ObjectNotFound:
            pass  # never registered: nothing is scheduled


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("pipeline", __doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the commands' layout
    parser.add_argument("--once", action="store_true", help="run the pipeline once and exit")

    def action(args) -> str:
        if args.once:
            ran = pipeline_flow()
            return f"pipeline: ran {', '.join(ran)}" if ran else "pipeline: every stage up to date"
        serve_schedule(args.params)
        return "pipeline: schedule stopped"

    return run_stage(parser, argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
