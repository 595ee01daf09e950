"""Run Great Expectations (1.x) suites over pandas tables; write Data Docs and a JSON summary.

One ephemeral context per call: a pandas data source with one dataframe asset per table, one
suite + validation definition + checkpoint per table (a checkpoint shares its batch parameters
between its validation definitions, and every table is a different DataFrame), all run under one
run id. Each checkpoint's `UpdateDataDocsAction` renders into a single Data Docs site whose
filesystem backend is `report_dir`, so `report_dir/index.html` is the HTML report;
`report_dir/summary.json` is the machine-readable summary.

Failed expectations are reported, never raised: the caller decides (usually
`raise ValidationFailed(outcome.summary())`). great_expectations is imported lazily: importing
this module is cheap.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arrhythmia.atomic import write_json
from arrhythmia.errors import ArrhythmiaError

SUMMARY_FILE = "summary.json"
N_EXAMPLES = 3  # unexpected values quoted per failure line
MAX_LIST_ITEMS = 6  # longer value sets are abbreviated in failure lines
# Keyword arguments that are plumbing, or are already shown as the column(s) of the expectation.
_HIDDEN_KWARGS = frozenset(
    {
        "batch_id",
        "column",
        "column_A",
        "column_B",
        "column_list",
        "result_format",
        "catch_exceptions",
        "include_config",
        "meta",
        "notes",
        "description",
        "condition_parser",
        "row_condition",
        "ignore_row_if",
    }
)


class ValidationFailed(ArrhythmiaError, RuntimeError):
    """Data did not meet its expectations; the message is `ValidationOutcome.summary()`."""


@dataclass(frozen=True)
class ValidationOutcome:
    name: str
    success: bool
    evaluated: int
    failed: int
    failures: tuple[str, ...]  # one readable line per failed expectation
    report_path: Path  # the Data Docs index.html
    tables: tuple[tuple[str, int], ...] = ()  # (table name, number of rows) validated
    elapsed_s: float = 0.0
    checks: tuple[str, ...] = ()  # "table: expectation(args)" for every expectation evaluated

    @property
    def summary_path(self) -> Path:
        return self.report_path.parent / SUMMARY_FILE

    def summary(self) -> str:
        verdict = "PASSED" if self.success else "FAILED"
        tables = ", ".join(f"{t} ({n:,} row{'' if n == 1 else 's'})" for t, n in self.tables)
        lines = [
            f"Data validation '{self.name}' {verdict}: "
            f"{self.evaluated - self.failed} of {self.evaluated} expectations met, "
            f"{self.failed} failed.",
        ]
        if tables:
            lines.append(f"Tables: {tables}.")
        if self.failures:
            lines.append("Failures:")
            lines.extend(f"  - {line}" for line in self.failures)
        lines.append(f"HTML report: {self.report_path}")
        lines.append(f"JSON summary: {self.summary_path}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed": self.failed,
            "failures": list(self.failures),
            "tables": {t: n for t, n in self.tables},
            "report_path": str(self.report_path),
            "elapsed_s": round(self.elapsed_s, 3),
        }


Table = tuple[str, Any, Sequence[Any]]  # (table name, pandas DataFrame, GX expectations)


def import_gx():
    """great_expectations, imported lazily (import it through here). Analytics and progress
    bars are off in each context's config (`_context`), not through the environment."""
    import great_expectations as gx

    return gx


def _context(site_dir: Path):
    gx = import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # The default ephemeral config adds a docs site in a temp dir; replace it with ours.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites={
            "report": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _suite_checkpoint(
    gx, context, source, suite_name: str, table_name: str, expectations, ids: list[str]
):
    """A checkpoint validating one whole-dataframe table against `expectations`, its failures
    identified by the `ids` columns, that updates the Data Docs."""
    batch_definition = source.add_dataframe_asset(
        name=table_name
    ).add_batch_definition_whole_dataframe(name=table_name)
    suite = context.suites.add(
        gx.ExpectationSuite(name=suite_name, expectations=[copy.deepcopy(e) for e in expectations])
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
    )
    return context.checkpoints.add(
        gx.Checkpoint(
            name=suite_name,
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": 20,
                "unexpected_index_column_names": ids,
            },
        )
    )


def run_suites(
    name: str,
    tables: Iterable[Table],
    report_dir: str | Path,
    *,
    id_columns: Mapping[str, Sequence[str]] | None = None,
) -> ValidationOutcome:
    """Validate each (table_name, DataFrame, expectations) in one ephemeral GX context.

    `id_columns` names, per table, the columns that identify a row in failure lines and in the
    HTML report (default: `record` when the table has one). Writes the Data Docs site into
    `report_dir` (`index.html`) and `report_dir/summary.json`. Never raises on failed
    expectations.
    """
    started = time.perf_counter()
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    site_dir = Path(report_dir).resolve()
    site_dir.mkdir(parents=True, exist_ok=True)
    context = _context(site_dir)
    source = context.data_sources.add_pandas(name=name)
    run_id = RunIdentifier(run_name=name, run_time=dt.datetime.now(dt.UTC))

    evaluated = 0
    failures: list[str] = []
    checks: list[str] = []
    sizes: list[tuple[str, int]] = []
    for table_name, df, expectations in tables:
        ids = list((id_columns or {}).get(table_name, ["record"] if "record" in df else []))
        suite_name = f"{name}.{table_name}"
        checkpoint = _suite_checkpoint(
            gx, context, source, suite_name, table_name, expectations, ids
        )
        result = checkpoint.run(batch_parameters={"dataframe": df}, run_id=run_id)
        sizes.append((table_name, len(df)))
        for suite_result in result.run_results.values():
            for er in suite_result.results:
                evaluated += 1
                checks.append(f"{table_name}: {_signature(er.expectation_config)}")
                if not er.success:
                    failures.append(describe_failure(table_name, er, ids))

    outcome = ValidationOutcome(
        name=name,
        success=not failures,
        evaluated=evaluated,
        failed=len(failures),
        failures=tuple(failures),
        report_path=site_dir / "index.html",
        tables=tuple(sizes),
        elapsed_s=time.perf_counter() - started,
        checks=tuple(checks),
    )
    write_json(outcome.summary_path, outcome.to_json())
    return outcome


# --- readable failure lines -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def format_value(value: Any) -> str:
    """A short, unambiguous rendering: strings quoted, integral floats without '.0'."""
    value = _plain(value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        shown = ", ".join(format_value(v) for v in items[:MAX_LIST_ITEMS])
        if len(items) > MAX_LIST_ITEMS:
            shown += f", ... ({len(items)} values)"
        return f"[{shown}]"
    return str(value)


def _signature(config: Any) -> str:
    kwargs = dict(config.kwargs)
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    columns += list(kwargs.get("column_list") or [])
    args = [str(c) for c in columns]
    for key, value in kwargs.items():
        if key in _HIDDEN_KWARGS or value is None:
            continue
        if key == "mostly" and value == 1:
            continue
        if (
            key in {"strict_min", "strict_max", "or_equal", "parse_strings_as_datetimes"}
            and not value
        ):
            continue
        args.append(f"{key}={format_value(value)}")
    return f"{config.type}({', '.join(args)})"


def _example(entry: Mapping[str, Any], ids: Sequence[str], checked: Sequence[str]) -> str:
    values = [c for c in checked if c in entry]
    if len(values) == 1:
        shown = format_value(entry[values[0]])
    else:
        shown = ", ".join(f"{c}={format_value(entry[c])}" for c in values)
    where = ", ".join(f"{c} {_plain(entry[c])}" for c in ids if c in entry and c not in values)
    return f"{shown} ({where})" if where else shown


def _exception_message(info: Any) -> str | None:
    """The first error message in exception_info (flat, or keyed by metric as in GX 1.x)."""
    if not isinstance(info, Mapping):
        return None
    candidates = [info] + [v for v in info.values() if isinstance(v, Mapping)]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            text = str(candidate.get("exception_message") or "unknown error").strip()
            return text.splitlines()[0] if text else "unknown error"
    return None


def describe_failure(table: str, er: Any, ids: Sequence[str] = ()) -> str:
    """One line for a failed ExpectationValidationResult."""
    config = er.expectation_config
    head = f"{table}: {_signature(config)}"
    message = _exception_message(er.exception_info)
    if message is not None:
        return f"{head} could not run: {message}"
    result = er.result or {}
    kwargs = config.kwargs
    checked = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    checked += list(kwargs.get("column_list") or [])
    if "unexpected_count" in result:
        total = result.get("element_count")
        n_bad = result["unexpected_count"]
        index_list = result.get("partial_unexpected_index_list") or []
        if index_list and isinstance(index_list[0], Mapping):
            examples = [_example(e, ids, checked) for e in index_list[:N_EXAMPLES]]
        else:
            examples = [format_value(v) for v in (result.get("partial_unexpected_list") or [])]
            examples = examples[:N_EXAMPLES]
        if total == 1 and examples:
            return f"{head} failed: observed {examples[0]}"
        text = f"{head} failed: {n_bad:,} of {total:,} rows unexpected"
        if examples:
            more = ", ..." if n_bad > len(examples) else ""
            text += f", e.g. {'; '.join(examples)}{more}"
        return text
    if "observed_value" in result:
        return f"{head} failed: observed {format_value(result['observed_value'])}"
    return f"{head} failed"
