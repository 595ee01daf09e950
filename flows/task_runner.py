"""Where a flow's per-record tasks run: in this process one at a time (the default), on a
local Dask cluster of N worker processes (--workers N), or on an existing Dask cluster
(--dask-address tcp://host:8786), so the same command scales from a laptop to a cluster.

Each Dask worker is one process with one thread, and numpy/torch inside it use one thread:
N workers on N cores, not N x N threads fighting over them. The workers report their task
runs to the flow's Prefect API: PREFECT_API_URL's server, else this process's temporary one
(which only workers on this machine can reach).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from prefect import Flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.states import State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from arrhythmia.errors import ArrhythmiaError

# Worth another try: an I/O hiccup (network storage, a connection). A missing or unreadable
# file, or a record the library refuses, fails the same way every time. (A worker that dies
# is Dask's to handle: it reruns the task elsewhere.)
PERMANENT_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)

# The BLAS/OpenMP pools each worker process starts with. Dask's nanny sets the same by
# default (distributed.nanny.pre-spawn-environ); said here so no local config undoes it.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class NoPrefectServerForWorkers(ArrhythmiaError):
    """Workers on other machines, and no Prefect server they could report to."""


def task_runner(workers: int | None = None, address: str | None = None) -> TaskRunner:
    """The task runner for `workers` local Dask workers, or the Dask scheduler at `address`;
    with neither, the tasks run in this process one after the other."""
    if workers is not None and address is not None:
        raise ValueError("give the number of local workers or a cluster address, not both")
    if address is None and workers is None:
        return ThreadPoolTaskRunner(max_workers=1)
    from prefect_dask import DaskTaskRunner

    if address is not None:
        return DaskTaskRunner(address=address)
    if workers < 1:
        raise ValueError(f"a local cluster needs at least 1 worker, not {workers}")
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "env": ONE_THREAD,
            "dashboard_address": None,  # no web server (nor a port to clash over)
        }
    )


def scheduler_host(address: str | None) -> str | None:
    """The host of a Dask scheduler address, with or without its scheme (Dask takes both:
    tcp://10.0.0.7:8786 and 10.0.0.7:8786); this machine when there is none."""
    if not address:
        return "localhost"
    return urlparse(address if "://" in address else f"tcp://{address}").hostname


@contextmanager
def prefect_api_for_workers(address: str | None) -> Iterator[None]:
    """Within: a Prefect API URL that Dask workers get with each task. Without
    PREFECT_API_URL a worker would start a temporary server of its own and wait on it in
    vain; this process's temporary server is the one to use (workers on this machine only)."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    if scheduler_host(address) not in ("localhost", "127.0.0.1", "::1"):
        raise NoPrefectServerForWorkers(
            f"the workers of {address} need a Prefect server they can reach: start one "
            "(`prefect server start --host 0.0.0.0`) and set PREFECT_API_URL to its address "
            "(http://<this host>:4200/api) here and on the workers"
        )
    with get_client(sync_client=True) as client:  # starts the temporary server
        url = str(client.api_url)
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield


def run_fanned_out(
    flow: Flow, workers: int | None, address: str | None, *args: Any, **kwargs: Any
) -> Any:
    """`flow(*args, **kwargs)` with its tasks on `workers` local Dask workers or the Dask
    cluster at `address` (neither: one at a time in this process)."""
    runner = task_runner(workers, address)
    if workers is None and address is None:
        return flow.with_options(task_runner=runner)(*args, **kwargs)
    with prefect_api_for_workers(address):
        return flow.with_options(task_runner=runner)(*args, **kwargs)


def _worker_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of workers (1 or more)")
    return int(text)


def add_task_runner_options(parser: argparse.ArgumentParser) -> None:
    """--workers N | --dask-address ADDRESS, for every flow that fans out per record."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_worker_count,
        default=None,
        metavar="N",
        help="run the records on a local Dask cluster of N worker processes (one thread "
        "each); default: one record (or batch of records) at a time in this process",
    )
    where.add_argument(
        "--dask-address",
        default=None,
        metavar="ADDRESS",
        help="run the records on the existing Dask cluster whose scheduler is at ADDRESS "
        "(e.g. tcp://host:8786); its scheduler and workers need this project's environment "
        "with this checkout on PYTHONPATH (they unpickle the tasks), and the records, models "
        "and output folder at the same paths",
    )


def is_transient(error: BaseException) -> bool:
    """What another try may fix: an I/O error other than a missing or forbidden file."""
    return isinstance(error, OSError) and not isinstance(error, PERMANENT_OS_ERRORS)


def transient_failure(task, task_run, state: State) -> bool:
    """retry_condition_fn for per-record tasks: retry what another try may fix."""
    return is_transient(state.data)


def _fanned_out_task(name: str, task_run_name: str):
    """No caching (a task that takes or returns arrays, or writes files, must run), retried
    on I/O hiccups only."""
    return task(
        name=name,
        task_run_name=task_run_name,
        retries=2,
        retry_delay_seconds=5,
        retry_condition_fn=transient_failure,
        cache_policy=NO_CACHE,
    )


def per_record_task(verb: str):
    """@task for one record's work, its runs named "<verb> <record>" (its `record`)."""
    return _fanned_out_task(f"{verb}-record", verb + " {record}")


def per_batch_task(verb: str):
    """@task for a batch of records, its runs named "<verb> <name>" (its `name`: the first
    and last record). A batch retries what fails it as a whole; its records' own failures
    are its to handle."""
    return _fanned_out_task(f"{verb}-records", verb + " {name}")


def results_in_order(
    futures: Sequence[PrefectFuture], desc: str, records: Sequence[int] | None = None
) -> list[Any]:
    """Each future's result, or the exception it failed with (the task's own, or Dask's when
    the task never ran: a worker that cannot import it, or died), in the order submitted
    (so the output does not depend on which worker finished first); a progress bar of
    records while they run (`records`: how many each future does; one where not given)."""
    from tqdm import tqdm

    counts = {id(f): n for f, n in zip(futures, records or [1] * len(futures), strict=True)}
    with tqdm(total=sum(counts.values()), desc=desc, unit="record") as progress:
        for done in as_completed(list(futures)):
            progress.update(counts[id(done)])
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result(raise_on_failure=False))
        except Exception as error:
            outcomes.append(error)
    return outcomes
