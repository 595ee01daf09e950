"""The champion gate's decision, without MLflow: scores, missing scores and changed inputs."""

from __future__ import annotations

import pytest

from arrhythmia.tracking.registry import Contender, Verdict, gate

NAN = float("nan")
BEATS = ["windows", "rr"]


def test_no_champion_makes_the_candidate_champion_unless_its_score_is_nan():
    assert gate(Contender("1", 0.7, BEATS), None, "f1") == Verdict(
        True, "no champion yet: version 1 becomes it"
    )
    assert gate(Contender("1", NAN, BEATS), None, "f1") == Verdict(
        False, "no champion yet, but f1=nan is not a number"
    )


@pytest.mark.parametrize(
    ("score", "greater", "promoted", "reason"),
    [
        (0.8, True, True, "f1=0.8 beats champion version 1 (0.7; higher is better)"),
        (0.7, True, False, "f1=0.7 does not beat champion version 1 (0.7; higher is better)"),
        (0.6, False, True, "f1=0.6 beats champion version 1 (0.7; lower is better)"),
        (NAN, True, False, "f1=nan does not beat champion version 1 (0.7; higher is better)"),
    ],
)
def test_the_scores_decide_between_versions_with_the_same_inputs(score, greater, promoted, reason):
    verdict = gate(Contender("2", score, BEATS), Contender("1", 0.7, BEATS), "f1", greater)
    assert verdict == Verdict(promoted, reason)


def test_a_champion_without_a_score_is_replaced_by_any_number():
    champion = Contender("3", None, BEATS)
    assert gate(Contender("4", 0.1, BEATS), champion, "loss", False) == Verdict(
        True, "champion version 3 has no loss: replaced"
    )
    assert gate(Contender("4", NAN, BEATS), champion, "loss").reason.endswith(": kept")


def test_a_champion_taking_other_inputs_is_replaced_whatever_the_scores():
    champion = Contender("1", 0.9, BEATS)
    verdict = gate(Contender("2", 0.1, ["ecg"]), champion, "f1")
    assert verdict.promoted
    assert verdict.reason == (
        "champion version 1 takes other inputs (['windows', 'rr']) than version 2 (['ecg']): "
        "replaced, whatever the scores"
    )
    assert not gate(Contender("2", NAN, ["ecg"]), champion, "f1").promoted  # NaN never wins
