"""EC57 statistics and classification metrics against hand-computed values."""

import json
import math

import numpy as np
import pytest

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.evaluation.ec57 import (
    classification_metrics,
    confusion,
    ec57_statistics,
    evaluate_predictions,
    flatten_metrics,
    per_record_table,
    to_jsonable,
    write_metrics_json,
)
from arrhythmia.evaluation.tables import format_results_table

N, S, V, F, Q = range(5)

# Rows = reference, columns = predicted, order N S V F Q.
#                 n    s   v   f   q      row sum
HAND_CM = np.array([
    [500, 20, 10,  3,  2],   # N   535
    [ 15, 60,  5,  1,  0],   # S    81
    [  6,  2, 90,  5,  1],   # V   104
    [  4,  1,  7, 30,  0],   # F    42
    [  1,  2,  3,  0,  8],   # Q    14
])  # fmt: skip


def expand(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beat-level (y_true, y_pred) arrays that reproduce a confusion matrix."""
    t, p = [], []
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            t += [i] * int(cm[i, j])
            p += [j] * int(cm[i, j])
    return np.array(t), np.array(p)


def test_confusion_rows_are_reference_columns_predicted():
    y_true, y_pred = expand(HAND_CM)
    rng = np.random.default_rng(0)
    order = rng.permutation(y_true.size)
    np.testing.assert_array_equal(confusion(y_true[order], y_pred[order]), HAND_CM)
    # a single reference S beat predicted V lands in row S, column V
    cm = confusion([S], [V])
    assert cm.shape == (5, 5) and cm[S, V] == 1 and cm.sum() == 1


def test_confusion_rejects_bad_input():
    with pytest.raises(ValueError):
        confusion([0, 1], [0])
    with pytest.raises(ValueError):
        confusion([0, 5], [0, 1])


def test_ec57_veb_hand_computed():
    st = ec57_statistics(HAND_CM)
    # VEB: TP = Vv = 90; FN = row V - Vv = 104 - 90 = 14
    assert st["veb_tp"] == 90 and st["veb_fn"] == 14
    # FP = Nv + Sv = 10 + 5 = 15 (Fv = 7 and Qv = 3 are NOT counted)
    assert st["veb_fp"] == 15
    # TN = (row N + row S) - FP = 535 + 81 - 15 = 601
    assert st["veb_tn"] == 601
    assert st["veb_se"] == pytest.approx(90 / 104)  # 0.8654
    assert st["veb_pp"] == pytest.approx(90 / 105)  # 0.8571, not 90/115 (with Fv, Qv)
    assert st["veb_pp"] != pytest.approx(90 / 115)
    assert st["veb_fpr"] == pytest.approx(15 / 616)  # FP / (row N + row S)
    assert st["veb_acc"] == pytest.approx((90 + 601) / (535 + 81 + 104))  # 691/720


def test_ec57_sveb_hand_computed():
    st = ec57_statistics(HAND_CM)
    # SVEB: TP = Ss = 60; FN = row S - Ss = 81 - 60 = 21
    assert st["sveb_tp"] == 60 and st["sveb_fn"] == 21
    # FP = Ns + Vs = 20 + 2 = 22 (Fs = 1 and Qs = 2 are NOT counted)
    assert st["sveb_fp"] == 22
    # TN = (row N + row V) - FP = 535 + 104 - 22 = 617
    assert st["sveb_tn"] == 617
    assert st["sveb_se"] == pytest.approx(60 / 81)  # 0.7407
    assert st["sveb_pp"] == pytest.approx(60 / 82)  # 0.7317, not 60/85 (with Fs, Qs)
    assert st["sveb_fpr"] == pytest.approx(22 / 639)
    assert st["sveb_acc"] == pytest.approx((60 + 617) / 720)


def test_ec57_counts():
    st = ec57_statistics(HAND_CM)
    assert st["n_beats"] == 776
    assert [st[f"n_ref_{c}"] for c in AAMI_CLASSES] == [535, 81, 104, 42, 14]
    assert [st[f"n_pred_{c}"] for c in AAMI_CLASSES] == [526, 85, 115, 39, 11]


def test_q_reference_beats_do_not_change_s_v_statistics():
    base = ec57_statistics(HAND_CM)
    more_q = HAND_CM.copy()
    more_q[Q] += [50, 40, 30, 20, 10]  # reference Q beats called anything
    more_f = HAND_CM.copy()
    more_f[F, V] += 100  # fusion beats called V
    for cm in (more_q, more_f):
        st = ec57_statistics(cm)
        for key in ("veb_se", "veb_pp", "veb_fpr", "sveb_se", "sveb_pp", "sveb_fpr"):
            assert st[key] == pytest.approx(base[key]), key


def test_reference_v_called_q_is_a_false_negative():
    cm = np.zeros((5, 5), dtype=int)
    cm[V, V] = 3
    cm[V, Q] = 1
    st = ec57_statistics(cm)
    assert st["veb_fn"] == 1
    assert st["veb_se"] == pytest.approx(0.75)


def test_perfect_predictions():
    y = np.array([N] * 20 + [S] * 5 + [V] * 7 + [F] * 3 + [Q] * 2)
    m = evaluate_predictions(y, y)
    for key in ("veb_se", "veb_pp", "sveb_se", "sveb_pp", "accuracy", "macro_f1",
                "veb_acc", "sveb_acc"):  # fmt: skip
        assert m[key] == 1.0, key
    assert m["veb_fpr"] == 0.0 and m["sveb_fpr"] == 0.0
    for c in AAMI_CLASSES:
        assert m[f"precision_{c}"] == m[f"recall_{c}"] == m[f"f1_{c}"] == 1.0


def test_all_n_predictions():
    y_true = np.array([N] * 10 + [S] * 3 + [V] * 4)
    y_pred = np.zeros_like(y_true)
    st = ec57_statistics(confusion(y_true, y_pred))
    assert st["veb_se"] == 0.0 and st["sveb_se"] == 0.0
    assert math.isnan(st["veb_pp"]) and math.isnan(st["sveb_pp"])
    assert st["veb_fpr"] == 0.0 and st["sveb_fpr"] == 0.0


def test_empty_matrix_gives_nan_not_error():
    st = ec57_statistics(np.zeros((5, 5), dtype=int))
    assert all(math.isnan(st[k]) for k in ("veb_se", "veb_pp", "veb_fpr", "sveb_se"))
    with pytest.raises(ValueError):
        ec57_statistics(np.zeros((4, 4)))


def test_classification_metrics_tiny_hand_example():
    y_true = [N, N, N, S, S, V]
    y_pred = [N, N, S, S, V, V]
    m = classification_metrics(y_true, y_pred)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # N: TP 2, predicted 2, reference 3 -> P 1, R 2/3, F1 0.8
    assert m["precision_N"] == pytest.approx(1.0)
    assert m["recall_N"] == pytest.approx(2 / 3)
    assert m["f1_N"] == pytest.approx(0.8)
    # S: TP 1, predicted 2, reference 2 -> P 1/2, R 1/2, F1 1/2
    assert (m["precision_S"], m["recall_S"], m["f1_S"]) == pytest.approx((0.5, 0.5, 0.5))
    # V: TP 1, predicted 2, reference 1 -> P 1/2, R 1, F1 2/3
    assert (m["precision_V"], m["recall_V"], m["f1_V"]) == pytest.approx((0.5, 1.0, 2 / 3))
    # F, Q: absent everywhere -> 0 (zero_division=0), support 0
    for c in ("F", "Q"):
        assert m[f"precision_{c}"] == m[f"recall_{c}"] == m[f"f1_{c}"] == 0.0
        assert m[f"support_{c}"] == 0
    assert [m[f"support_{c}"] for c in "NSV"] == [3, 2, 1]
    # macro F1 over the classes present in the reference only (N, S, V)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_evaluate_predictions_combines_everything():
    y_true, y_pred = expand(HAND_CM)
    m = evaluate_predictions(y_true, y_pred)
    assert m["classes"] == list(AAMI_CLASSES)
    assert m["confusion_matrix"] == HAND_CM.tolist()
    assert m["veb_pp"] == pytest.approx(90 / 105)
    assert m["accuracy"] == pytest.approx((500 + 60 + 90 + 30 + 8) / 776)
    assert m["recall_V"] == pytest.approx(90 / 104)
    # EC57 +P differs from plain precision, which counts Fv and Qv as false positives
    assert m["precision_V"] == pytest.approx(90 / 115)
    json.dumps(to_jsonable(m), allow_nan=False)


def test_per_record_table():
    records = ["101"] * 4 + ["100"] * 5
    y_true = [N, N, V, V] + [N, N, N, S, S]
    y_pred = [N, V, V, N] + [N, N, N, S, N]
    rows = per_record_table(records, y_true, y_pred)
    assert [r["record"] for r in rows] == ["100", "101"]
    r100, r101 = rows
    assert r100["n_beats"] == 5
    assert [r100[f"n_ref_{c}"] for c in AAMI_CLASSES] == [3, 2, 0, 0, 0]
    assert r100["accuracy"] == pytest.approx(4 / 5)
    assert r100["sveb_se"] == pytest.approx(1 / 2) and r100["sveb_pp"] == pytest.approx(1.0)
    assert r100["veb_se"] is None and r100["veb_pp"] is None  # no V reference or predicted
    assert r101["n_beats"] == 4 and r101["n_ref_V"] == 2
    assert r101["veb_se"] == pytest.approx(0.5) and r101["veb_pp"] == pytest.approx(0.5)
    assert r101["sveb_se"] is None and r101["sveb_pp"] is None
    assert r101["accuracy"] == pytest.approx(0.5)
    json.dumps(rows, allow_nan=False)


def test_flatten_metrics_names_and_filtering():
    y_true, y_pred = expand(HAND_CM)
    flat = flatten_metrics(evaluate_predictions(y_true, y_pred), "ds2")
    for key in ("ds2_sveb_se", "ds2_veb_pp", "ds2_accuracy", "ds2_macro_f1",
                "ds2_precision_N", "ds2_support_F", "ds2_veb_tp", "ds2_n_ref_Q"):  # fmt: skip
        assert key in flat, key
    assert flat["ds2_veb_pp"] == pytest.approx(90 / 105)
    assert "ds2_confusion_matrix" not in flat and "ds2_classes" not in flat
    assert all(isinstance(v, float) for v in flat.values())
    flat2 = flatten_metrics({"a": float("nan"), "b": 2, "c": "x", "d": None, "e": True}, "p")
    assert flat2 == {"p_b": 2.0}
    assert flatten_metrics({"a": np.float32(0.5)}, "") == {"a": 0.5}


def test_write_metrics_json_turns_nan_into_null(tmp_path):
    target = tmp_path / "out" / "metrics.json"
    write_metrics_json(target, {"veb_pp": float("nan"), "n": np.int64(3), "cm": np.eye(2)})
    text = target.read_text()
    assert "NaN" not in text
    assert json.loads(text) == {"veb_pp": None, "n": 3, "cm": [[1.0, 0.0], [0.0, 1.0]]}
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]


def test_format_results_table_contains_expected_numbers():
    y_true, y_pred = expand(HAND_CM)
    table = format_results_table(evaluate_predictions(y_true, y_pred))
    assert "| V | 86.5 | 78.3 |" in table  # recall 90/104, precision 90/115
    assert "| VEB Se (EC57) | 86.5 |" in table
    assert "| VEB +P (EC57) | 85.7 |" in table  # 90/105
    assert "| SVEB Se (EC57) | 74.1 |" in table  # 60/81
    assert "| SVEB +P (EC57) | 73.2 |" in table  # 60/82
    assert "| Accuracy | 88.7 |" in table  # 688/776
    assert "| 535 |" in table and "| 14 |" in table  # supports N and Q
    for c in AAMI_CLASSES:
        assert f"| {c} |" in table


def test_format_results_table_handles_missing_values():
    table = format_results_table(to_jsonable({"veb_pp": float("nan"), "recall_N": 0.5}))
    assert "| VEB +P (EC57) | n/a |" in table
    assert "| N | 50.0 | n/a |" in table


def test_a_dominant_record_is_reported_alone_and_left_out():
    from arrhythmia.evaluation.ec57 import single_out_statistics
    from arrhythmia.evaluation.tables import format_single_out_table

    # record "232": 4 S beats, 1 found; record "100": 2 S beats, both found, 1 false S
    records = np.array(["232"] * 6 + ["100"] * 6)
    y_true = np.array([1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 2])
    y_pred = np.array([1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 2])
    stats = single_out_statistics(records, y_true, y_pred, ["232"])
    assert stats["record_232_sveb_se"] == pytest.approx(0.25)
    assert stats["without_232_sveb_se"] == pytest.approx(1.0)
    assert stats["without_232_sveb_pp"] == pytest.approx(2 / 3)
    assert stats["without_232_veb_tp"] == 1
    table = format_single_out_table(stats, ["232"])
    assert "| record 232 alone | 25.0 |" in table and "| all but 232 | 100.0 | 66.7 | 2 |" in table
