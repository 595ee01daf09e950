"""What the train stage reports of a training: metric names, offsets, curves' steps."""

from types import SimpleNamespace

from arrhythmia.training.reports import decision_offsets, step_metrics

HISTORY = [
    {"member": 0, "fold": 0, "epoch": 1, "train_loss": 0.9, "val_loss": 0.8, "val_score": 0.1},
    {"member": 0, "fold": 0, "epoch": 2, "train_loss": 0.7, "val_loss": 0.6, "val_score": 0.3},
    {"member": 1, "fold": 1, "epoch": 1, "train_loss": 0.5, "val_loss": 0.4, "val_score": 0.2},
]


def test_each_network_has_its_curves_and_all_epochs_share_one_axis_of_steps():
    steps = step_metrics(HISTORY)
    assert steps[0] == ({"fold0_train_loss": 0.9, "fold0_val_loss": 0.8, "fold0_val_score": 0.1}, 1)
    assert steps[1] == ({"val_score_by_step": 0.1}, 1)
    assert steps[2][1] == 2 and steps[3] == ({"val_score_by_step": 0.3}, 2)
    assert set(steps[4][0]) == {"seed1_fold1_train_loss", "seed1_fold1_val_loss",
                                "seed1_fold1_val_score"}  # fmt: skip
    assert steps[4][1] == 1 and steps[5] == ({"val_score_by_step": 0.2}, 3)


def test_the_decision_offsets_are_named_per_class_and_the_second_stage_adds_its_own():
    classifier = SimpleNamespace(
        classes=("N", "S"), logit_bias=[0.0, 0.5], second_stage=None, ventricular_stage=None
    )
    assert decision_offsets(classifier) == {"cnn_offset_N": 0.0, "cnn_offset_S": 0.5}
    classifier.second_stage = {"offset": -1.25}
    assert decision_offsets(classifier)["second_stage_offset"] == -1.25
    classifier.ventricular_stage = {"offset": 4.0}
    assert decision_offsets(classifier)["ventricular_stage_offset"] == 4.0
