"""Model registry gate: register a run's model as a new version and move the `champion`
alias to it only if it beats the current champion on the gate metric.

MLflow 3 deprecates stages, so promotion is an alias (`models:/arrhythmia-cnn@champion`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from arrhythmia.errors import ArrhythmiaError
from arrhythmia.tracking.mlflow_setup import HEADLINE_METRICS

MODEL_NAME = "arrhythmia-cnn"
BEATS_SUFFIX = "-beats"  # the beat-level companion: MODEL_NAME + BEATS_SUFFIX
CHAMPION_ALIAS = "champion"
MAX_CHANGES_LISTED = 12
# MLflow's column for a version's description is VARCHAR(5000): PostgreSQL refuses a longer
# one (sqlite does not check), which would leave `register` half-done.
MAX_DESCRIPTION_CHARS = 5000
GATE_DONE_TAG = "gate_completed"


class GateError(ArrhythmiaError, ValueError):
    """The candidate run cannot be gated (it logged no gate metric)."""


def should_promote(
    candidate: float, champion: float | None, greater_is_better: bool = True
) -> bool:
    """Whether a candidate score replaces the champion's.

    No champion (or a champion without a usable score) -> promote; a NaN candidate never
    wins; a tie keeps the champion.
    """
    if candidate is None or math.isnan(candidate):
        return False
    if champion is None or math.isnan(champion):
        return True
    return candidate > champion if greater_is_better else candidate < champion


@dataclass(frozen=True)
class GateDecision:
    version: str
    promoted: bool
    gate_metric: str
    candidate_score: float
    champion_version: str | None
    champion_score: float | None
    reason: str
    already_registered: bool = False
    # registered-model name -> version of each companion registered beside it
    companions: dict[str, str] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _current_champion(client, model_name: str):
    """The model version holding the champion alias, or None (no such model or alias)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def _existing_version(client, model_name: str, run_id: str):
    """The version of `model_name` already registered from `run_id`, or None."""
    versions = client.search_model_versions(f"name = '{model_name}' and run_id = '{run_id}'")
    return min(versions, key=lambda v: int(v.version)) if versions else None


def params_change(candidate: dict[str, str], champion: dict[str, str]) -> list[str]:
    """ "key: old -> new" for every param that differs (added or dropped ones included)."""
    changes = []
    for key in sorted(set(candidate) | set(champion)):
        old, new = champion.get(key, "(none)"), candidate.get(key, "(none)")
        if old != new:
            changes.append(f"{key}: {old} -> {new}")
    return changes


def version_description(
    run, champion_version: str | None, champion_params: dict[str, str] | None, reason: str
) -> str:
    """What a registered version is, what changed since the champion, and the gate decision."""
    metrics = run.data.metrics
    head = (
        f"Run {run.info.run_id} (git {run.data.tags.get('git_commit', 'unknown')}, dataset md5 "
        f"{run.data.tags.get('dataset_dvc_md5', 'unknown')})."
    )
    tail = [f"Gate: {reason}."]
    figures = ", ".join(f"{k} {metrics[k]:.3f}" for k in HEADLINE_METRICS if k in metrics)
    if figures:
        tail.append(f"Headline figures (DS2 is reported only, never gated on): {figures}.")
    if champion_version is None:
        changed = "No champion to compare against yet."
    else:
        changes = params_change(run.data.params, champion_params or {})
        budget = MAX_DESCRIPTION_CHARS - len("\n".join([head, *tail])) - 1
        changed = _changes_line(changes, champion_version, budget)
    return "\n".join([head, changed, *tail])[:MAX_DESCRIPTION_CHARS]


def _changes_line(changes: list[str], champion_version: str, budget: int) -> str:
    """ "Changed from champion version N: a; b (+k more)." with as many changes as fit in
    MAX_CHANGES_LISTED and `budget` characters."""
    start = f"Changed from {CHAMPION_ALIAS} version {champion_version}: "
    if not changes:
        return start + "no params changed (code or data did)."
    for n in range(min(len(changes), MAX_CHANGES_LISTED), 0, -1):
        more = f" (+{len(changes) - n} more)" if n < len(changes) else ""
        line = f"{start}{'; '.join(changes[:n])}{more}."
        if len(line) <= budget:
            return line
    return f"{start}{len(changes)} params (too long to list here)."


def _input_names(model_uri: str) -> list[str] | None:
    """The input names of a registered model's signature (None without a signature)."""
    from mlflow.models import get_model_info

    signature = get_model_info(model_uri).signature
    return signature.inputs.input_names() if signature is not None else None


@dataclass(frozen=True)
class Contender:
    """A model version as the gate sees it: its score on the gate metric (None: its run
    logged none) and the input names of its signature (None: it has no signature)."""

    version: str
    score: float | None
    inputs: list[str] | None


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    reason: str


def gate(
    candidate: Contender,
    champion: Contender | None,
    gate_metric: str,
    greater_is_better: bool = True,
) -> Verdict:
    """Whether `candidate` takes the champion alias, and why; decided without MLflow.

    The scores decide (`should_promote`), except that a champion taking other inputs than
    the candidate is replaced whatever the scores (clients of the alias send the new
    input), unless the candidate's score is NaN."""
    score = candidate.score
    promoted = should_promote(score, champion.score if champion else None, greater_is_better)
    if champion is None:
        if promoted:
            return Verdict(True, f"no {CHAMPION_ALIAS} yet: version {candidate.version} becomes it")
        return Verdict(False, f"no {CHAMPION_ALIAS} yet, but {gate_metric}={score} is not a number")
    if champion.inputs != candidate.inputs and not math.isnan(score):
        return Verdict(
            True,
            f"{CHAMPION_ALIAS} version {champion.version} takes other inputs "
            f"({champion.inputs}) than version {candidate.version} ({candidate.inputs}): "
            "replaced, whatever the scores",
        )
    if champion.score is None:
        outcome = "replaced" if promoted else "kept"
        return Verdict(
            promoted, f"{CHAMPION_ALIAS} version {champion.version} has no {gate_metric}: {outcome}"
        )
    verdict = "beats" if promoted else "does not beat"
    direction = "higher" if greater_is_better else "lower"
    return Verdict(
        promoted,
        f"{gate_metric}={score:.6g} {verdict} {CHAMPION_ALIAS} version {champion.version} "
        f"({champion.score:.6g}; {direction} is better)",
    )


@dataclass(frozen=True)
class Champion:
    """The version holding the champion alias, read once: its run's gate score and params."""

    version: str
    score: float | None
    params: dict[str, str] | None


def _champion(client, model_name: str, gate_metric: str) -> Champion | None:
    """The champion, with one read of its run (its score and params)."""
    version = _current_champion(client, model_name)
    if version is None:
        return None
    run = client.get_run(version.run_id) if version.run_id else None
    score = run.data.metrics.get(gate_metric) if run else None
    return Champion(
        version=str(version.version),
        score=float(score) if score is not None else None,
        params=run.data.params if run else None,
    )


def _gate_score(run, gate_metric: str) -> float:
    metrics = run.data.metrics
    if gate_metric not in metrics:
        raise GateError(
            f"run {run.info.run_id} has no metric {gate_metric!r} to gate on; "
            f"it logged: {sorted(metrics) or 'no metrics'}"
        )
    return float(metrics[gate_metric])


def register_and_gate(
    run_id: str,
    gate_metric: str,
    greater_is_better: bool = True,
    model_name: str = MODEL_NAME,
    artifact_name: str = "model",
    model_uri: str | None = None,
    companions: dict[str, str] | None = None,
) -> GateDecision:
    """Register the run's model (`model_uri`, as returned when it was logged; else
    `runs:/{run_id}/{artifact_name}`) as a new version of `model_name` and give it the
    champion alias if `gate` says so. The decision is recorded on the new version (tags
    gate_metric, candidate_score, champion_score, promoted) and on the candidate run (metrics
    gate_candidate_score, gate_champion_score, tag promoted). Raises GateError (a ValueError)
    before registering anything when the run has not logged `gate_metric`.

    `companions` ({registered name: model URI}, e.g. the beat-level model of the same run)
    are registered beside it and follow its champion alias: one decision for both.
    """
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    run = client.get_run(run_id)
    candidate = _gate_score(run, gate_metric)
    champion = _champion(client, model_name, gate_metric)
    existing = _existing_version(client, model_name, run_id)
    if existing is not None and existing.tags.get(GATE_DONE_TAG) == "true":
        # A re-run of `register` on the same training run: nothing to do.
        return _already_gated(
            client, existing, candidate, champion, gate_metric, model_name, companions
        )
    registered = existing  # when not None: by a run of `register` that stopped half-way
    if registered is None:
        registered = mlflow.register_model(
            model_uri or f"runs:/{run_id}/{artifact_name}", model_name
        )
    version = str(registered.version)
    verdict = gate(
        _contender(model_name, version, candidate),
        None if champion is None else _contender(model_name, champion.version, champion.score),
        gate_metric,
        greater_is_better,
    )
    decision = GateDecision(
        version=version,
        promoted=verdict.promoted,
        gate_metric=gate_metric,
        candidate_score=candidate,
        champion_version=champion.version if champion else None,
        champion_score=champion.score if champion else None,
        reason=verdict.reason,
    )
    _record_decision(client, run, model_name, decision, champion)
    return _move_alias(client, model_name, decision, run_id, companions or {})


def _move_alias(
    client, model_name: str, decision: GateDecision, run_id: str, companions: dict[str, str]
) -> GateDecision:
    """Register the companions, move the champion alias of all when the decision says so,
    and mark the version's gate done; the decision with the companions' versions."""
    version, promoted = decision.version, decision.promoted
    follows = f"{model_name} version {version}"
    companion_versions = {
        name: _register_companion(client, name, uri, run_id, follows, promoted)
        for name, uri in companions.items()
    }
    if promoted:
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
    # Last: a version without this tag was left half-done, and a re-run completes it.
    client.set_model_version_tag(model_name, version, GATE_DONE_TAG, "true")
    return replace(decision, companions=companion_versions or None)


def _contender(model_name: str, version: str, score: float | None) -> Contender:
    return Contender(version, score, _input_names(f"models:/{model_name}/{version}"))


def _already_gated(
    client,
    existing,
    candidate: float,
    champion: Champion | None,
    gate_metric: str,
    model_name: str,
    companions: dict[str, str] | None,
) -> GateDecision:
    """The decision of a run that `register` already completed: nothing registered or moved."""
    run_id = existing.run_id
    versions = {
        name: str(v.version)
        for name in companions or {}
        if (v := _existing_version(client, name, run_id)) is not None
    }
    return GateDecision(
        version=str(existing.version),
        promoted=False,
        gate_metric=gate_metric,
        candidate_score=candidate,
        champion_version=champion.version if champion else None,
        champion_score=champion.score if champion else None,
        reason=f"run {run_id} is already version {existing.version} of {model_name}; "
        "nothing registered or moved",
        already_registered=True,
        companions=versions or None,
    )


def _record_decision(
    client, run, model_name: str, decision: GateDecision, champion: Champion | None
) -> None:
    """The decision on the new version (tags, description) and on the candidate run."""
    metrics, run_id, version = run.data.metrics, run.info.run_id, decision.version
    champion_score = decision.champion_score
    tags = {
        "gate_metric": decision.gate_metric,
        "candidate_score": repr(decision.candidate_score),
        "champion_score": repr(champion_score) if champion_score is not None else "none",
        "champion_version": decision.champion_version or "none",
        "promoted": str(decision.promoted).lower(),
        "git_commit": run.data.tags.get("git_commit", "unknown"),
    }
    tags.update({k: f"{metrics[k]:.4f}" for k in HEADLINE_METRICS if k in metrics})
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    description = version_description(
        run, decision.champion_version, champion.params if champion else None, decision.reason
    )
    client.update_model_version(model_name, version, description=description)
    client.log_metric(run_id, "gate_candidate_score", decision.candidate_score)
    if champion_score is not None:
        client.log_metric(run_id, "gate_champion_score", champion_score)
    client.set_tag(run_id, "promoted", str(decision.promoted).lower())
    client.set_tag(run_id, "registered_version", version)


def _register_companion(
    client, name: str, uri: str, run_id: str, follows: str, promoted: bool
) -> str:
    """Register `uri` as a version of `name` (once per run) and give it the champion alias
    when the main model got it."""
    import mlflow

    existing = _existing_version(client, name, run_id)
    version = str(
        existing.version if existing is not None else mlflow.register_model(uri, name).version
    )
    client.set_model_version_tag(name, version, "follows", follows)
    if promoted:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    return version
