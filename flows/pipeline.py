"""Flow `pipeline`: the whole DVC pipeline (`dvc repro`), and its scheduled deployment.

`dvc repro` decides what is stale, and each stage it runs is itself a Prefect flow, so a
scheduled run shows up as this flow plus one flow run per stage that had work to do. With
PREFECT_API_URL set, every one of them reports to that server (no temporary servers).

    prefect server start                            # the server and its UI (port 4200)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python -m flows.pipeline          # register `pipeline/weekly-retrain` on the cron in
                                      # params.yaml and run its runs (blocks; Ctrl-C pauses
                                      # the schedule, then stops)
    prefect deployment run pipeline/weekly-retrain  # one run now, from another terminal
    python -m flows.pipeline --once   # run the pipeline once now, without the schedule
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import logging
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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


# How long stopping waits for the server to confirm the pause (a busy server's sqlite database
# can answer "locked", 503, for a while); past this, the process says that the schedule may
# still be active and ends.
PAUSE_TIMEOUT_S = 120.0
_log = logging.getLogger("flows.pipeline")


class ScheduleNotPaused(ArrhythmiaError):
    """Serving stopped without the server confirming that the schedule is paused."""


def serve_schedule(params_path: str = "params.yaml", project_dir: str = ".") -> None:
    """Register the pipeline as a deployment on the cron in params.yaml and run its runs
    (blocks). The server at PREFECT_API_URL holds the schedule and shows the runs; stopping
    pauses the schedule there before the process ends (`PauseOnStop`)."""
    schedule = load_params(params_path).schedule
    from prefect.runner import Runner
    from prefect.settings import PREFECT_API_URL

    api_url = schedule_server(PREFECT_API_URL.value())
    name = f"{pipeline_flow.name}/{schedule.deployment_name}"
    _log.setLevel(min(_log.getEffectiveLevel(), logging.INFO))  # Prefect's root is at WARNING
    # `flow.serve` without its pause: Prefect pauses late in its runner's teardown, with no
    # deadline, where a busy machine or a second signal can cut it short.
    runner = Runner(name=schedule.deployment_name, pause_on_shutdown=False, limit=1)
    try:
        with PauseOnStop(lambda: pause_deployment(name)) as stop:
            with stop.registering():
                runner.add_flow(
                    pipeline_flow,
                    name=schedule.deployment_name,
                    cron=schedule.cron,
                    # absolute: the runs do not depend on where the runner starts its processes
                    parameters={"project_dir": str(Path(project_dir).resolve())},
                    tags=["arrhythmia"],
                )
            print(
                f"Serving {name} on {api_url} (cron {schedule.cron!r}). "
                f"`prefect deployment run {name}` runs it now; Ctrl-C pauses the schedule "
                "and stops.",
                flush=True,
            )
            asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass  # Ctrl-C: the schedule is paused and the runner stopped


class PauseOnStop:
    """However serving ends, the schedule is paused on the server before the process does.

    Ctrl-C (SIGINT) pauses first, waiting up to `PAUSE_TIMEOUT_S` for the server to confirm,
    and only then interrupts the runner; Ctrl-C and SIGTERM during that wait are ignored (after
    it, Ctrl-C interrupts Prefect's teardown as usual). A Ctrl-C while the deployment is being
    registered waits for the registration to finish, so that no write in flight re-activates
    the schedule after the pause; a second one stops at once. SIGTERM does the same until the
    runner starts and takes it over for its graceful stop; that stop, or anything else that
    ends the serving after the registration, pauses on the way out. Nothing pauses after a
    SIGKILL; a server that does not confirm in time is reported (ScheduleNotPaused)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, pause: Callable[[], bool]):
        self._pause = pause  # True once the server confirms the pause
        self._registering = False
        self._registered = False
        self._deferred = False
        self._attempted = False
        self._paused = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> PauseOnStop:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if self._registered:
                self._pause_once()
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
        stopped = kind is None or issubclass(kind, (KeyboardInterrupt, SystemExit))
        if self._registered and not self._paused and stopped:  # else the error says more
            raise ScheduleNotPaused(
                "the server did not confirm the pause: the schedule may still be active with "
                "nothing serving it (pause the deployment in the UI)"
            )

    @contextmanager
    def registering(self) -> Iterator[None]:
        """The registration: a Ctrl-C waits for its end (a second one does not)."""
        self._registering = True
        try:
            yield
        except KeyboardInterrupt:
            self._registered = True  # stopped mid-way: a write may have reached the server
            raise
        finally:
            self._registering = False
        self._registered = True
        if self._deferred:
            self._pause_then_interrupt()

    def _on_signal(self, signum, frame) -> None:
        if self._registering and not self._deferred:
            self._deferred = True
            _log.info("stopping once the deployment is registered (Ctrl-C again: at once)")
        elif self._registering:
            raise KeyboardInterrupt
        else:
            self._pause_then_interrupt()

    def _pause_then_interrupt(self) -> None:
        if self._registered:
            self._pause_once()
        raise KeyboardInterrupt

    def _pause_once(self) -> None:
        if self._attempted:
            return
        # signals ignored before the attempt is marked: one arriving in between cannot
        # interrupt the pause it would then never retry
        held = {signum: signal.signal(signum, signal.SIG_IGN) for signum in self.SIGNALS}
        self._attempted = True
        try:
            self._paused = self._pause()
        finally:
            for signum, handler in held.items():
                signal.signal(signum, handler)


def pause_deployment(name: str, timeout_s: float = PAUSE_TIMEOUT_S) -> bool:
    """Pause the deployment `flow/deployment` on the server; True once the server, read back,
    says it is paused (or has no such deployment: nothing is scheduled), False if it has not
    said so within `timeout_s`.

    The requests run in a thread of their own: called from a signal handler, they do not
    re-enter what the interrupted main thread was doing (its locks, its client), and a request
    that hangs does not hold the process past the deadline."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    deadline = time.monotonic() + timeout_s
    outcome: list[BaseException | None] = []

    def paused() -> bool:
        try:
            with get_client(sync_client=True) as client:
                deployment = client.read_deployment_by_name(name)
                if not deployment.paused:
                    client.pause_deployment(deployment.id)
                    deployment = client.read_deployment(deployment.id)
        except ObjectNotFound:
            return True
        return deployment.paused

    def pause() -> None:
        error: BaseException = TimeoutError(f"no answer in {timeout_s:.0f} s")
        # A try every second or so, not the client's backoff (up to 32 s between its tries):
        # the pause lands as soon as the server can take it. (This thread's settings only.)
        with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}):
            while time.monotonic() < deadline:
                try:
                    if paused():
                        outcome.append(None)
                        return
                    error = RuntimeError("the server still has it active")
                except Exception as failure:  # a busy or restarting server: again
                    error = failure
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        outcome.append(error)

    _log.info("pausing the schedule of %s (waiting up to %.0f s for the server)", name, timeout_s)
    worker = threading.Thread(target=contextvars.copy_context().run, args=(pause,), daemon=True)
    worker.start()
    worker.join(timeout_s)
    if outcome and outcome[0] is None:
        _log.info("schedule of %s paused", name)
        return True
    why = outcome[0] if outcome else f"no answer in {timeout_s:.0f} s"
    _log.warning("the schedule of %s was not paused: %s", name, why)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("pipeline", __doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the commands' layout
    parser.add_argument("--once", action="store_true", help="run the pipeline once and exit")

    def action(args) -> str:
        if args.once:
            ran = pipeline_flow()
            return f"pipeline: ran {', '.join(ran)}" if ran else "pipeline: every stage up to date"
        serve_schedule(args.params)
        return "pipeline: schedule paused, serving stopped"

    return run_stage(parser, argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
