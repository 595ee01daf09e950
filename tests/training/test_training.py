import dataclasses

import numpy as np
import pytest
import torch

from arrhythmia.config import ConfigError
from arrhythmia.data.records import DS1
from arrhythmia.models.bundle import BeatClassifier
from arrhythmia.signal.rr import RR_FEATURES
from arrhythmia.training import ensemble as ensemble_module
from arrhythmia.training import loop
from arrhythmia.training.ensemble import member_seeds, train_ensemble
from arrhythmia.training.folds import patient_folds
from arrhythmia.training.loop import ResumeError, class_weights, validation_score

RECORDS = DS1[:6]


def synthetic_dataset(seed=0, per_record=40):
    """Dataset-format arrays: N beats are flat, S beats have an early bump, V beats a wide one."""
    rng = np.random.default_rng(seed)
    rows = []
    for record in RECORDS:
        labels = np.array([0] * (per_record - 8) + [1] * 4 + [2] * 4)
        for label in labels:
            w = rng.normal(0, 0.05, (2, 252)).astype(np.float32)
            if label == 1:
                w[:, 40:80] += 2.0
            if label == 2:
                w[:, 90:160] += 1.5
            rr = np.full(len(RR_FEATURES), 1.0 if label != 1 else 0.7, dtype=np.float32)
            rows.append((w, rr, label, record))
    windows, rr, labels, records = zip(*rows, strict=True)
    n = len(labels)
    return {
        "windows": np.stack(windows), "rr": np.stack(rr), "label": np.array(labels, np.int8),
        "record": np.array(records), "split": np.full(n, "DS1"), "sample": np.arange(n),
        "symbol": np.full(n, "N"), "rr_names": np.array(RR_FEATURES), "fs": np.array(360),
        "window_length": np.array(252), "window_pre": np.array(90),
    }  # fmt: skip


@pytest.fixture
def small_train(params):
    return dataclasses.replace(
        params.train, folds=2, seeds=1, max_epochs=6, patience=7, batch_size=16, widths=[4, 8],
        learning_rate=0.01, normal_fraction=1.0,  # 240 beats: every one each epoch
        # synthetic beats are noise with bumps: no morphology for a sinus group to find
        # (the shipped template and neighbours train on real records in tests/e2e)
        template_beats="all", neighbour_beats=False,
        rr_hidden=4, hidden=8, threads=1,
    )  # fmt: skip


def test_patient_folds_hold_out_whole_records_and_spread_s_beats():
    records = np.repeat(np.array(["a", "b", "c", "d"]), 10)
    labels = np.zeros(40, dtype=np.int64)
    labels[[0, 1, 2, 10, 11, 12]] = 1  # S beats only in records a and b
    folds = patient_folds(records, labels, 2)
    assert set(folds) == {"a", "b", "c", "d"}
    assert folds["a"] != folds["b"]  # the two S-bearing records are split across folds
    with pytest.raises(ValueError):
        patient_folds(records, labels, 5)


def test_class_weights_favour_rare_classes():
    w = class_weights(np.array([0] * 90 + [1] * 10), 5, power=1.0)
    assert w[1] == pytest.approx(9.0) and w[0] == pytest.approx(1.0)
    assert w[2] == 0.0  # absent classes get no weight


def test_validation_score_is_mean_of_ec57_f_scores():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert validation_score(y, y) == 1.0
    assert validation_score(y, np.zeros(6, int)) == 0.0


def test_training_selects_on_ds1_folds_and_learns(tmp_path, small_train, params):
    arrays = synthetic_dataset()
    classifier, report = train_ensemble(
        arrays, small_train, params.preprocess, tmp_path / "ckpt", progress=False
    )
    assert len(classifier.state_dicts) == 2
    assert set(report.folds) == set(RECORDS)
    assert len(report.history) == 2 * 6
    assert report.val_score_untuned > 0.5  # the networks learn; offsets are tested elsewhere
    path = tmp_path / "cnn.pt"
    classifier.save(path)
    reloaded = BeatClassifier.load(path)
    args = (arrays["windows"], arrays["rr"], arrays["rr_names"], arrays["record"])
    np.testing.assert_allclose(reloaded.predict_proba(*args), classifier.predict_proba(*args))


def test_same_params_give_the_same_model(tmp_path, small_train, params):
    arrays = synthetic_dataset()
    first, _ = train_ensemble(
        arrays, small_train, params.preprocess, tmp_path / "a", progress=False
    )
    second, _ = train_ensemble(
        arrays, small_train, params.preprocess, tmp_path / "b", progress=False
    )
    for a, b in zip(first.state_dicts, second.state_dicts, strict=True):
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    # equal content, equal bytes: DVC hashes the file, so no temporary name may leak into it
    first.save(tmp_path / "a" / "cnn.pt")
    second.save(tmp_path / "b" / "model.pt")
    assert (tmp_path / "a" / "cnn.pt").read_bytes() == (tmp_path / "b" / "model.pt").read_bytes()


def test_seed_members_extend_the_single_seed_model(tmp_path, small_train, params):
    arrays = synthetic_dataset()
    quick = dataclasses.replace(small_train, max_epochs=2)
    single, single_report = train_ensemble(
        arrays, quick, params.preprocess, tmp_path / "one", progress=False
    )
    double, report = train_ensemble(
        arrays, dataclasses.replace(quick, seeds=2), params.preprocess, tmp_path / "two",
        progress=False,
    )  # fmt: skip
    assert len(double.state_dicts) == 2 * 2  # folds x seeds, the first seed's members first
    for a, b in zip(single.state_dicts, double.state_dicts[:2], strict=True):
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    first, other = double.state_dicts[0], double.state_dicts[2]  # fold 0 of each seed
    assert any(not torch.equal(first[key], other[key]) for key in first)
    assert {(row["member"], row["fold"]) for row in report.history} == {
        (0, 0), (0, 1), (1, 0), (1, 1)
    }  # fmt: skip
    # the out-of-fold probabilities are the members' mean: the second member alone is the
    # single-seed ensemble of the second seed
    second_seed = dataclasses.replace(quick, seed=member_seeds(quick.seed, 2)[1])
    _, second_report = train_ensemble(
        arrays, second_seed, params.preprocess, tmp_path / "second", progress=False
    )
    mean = (single_report.oof_proba + second_report.oof_proba) / 2
    np.testing.assert_allclose(report.oof_proba, mean, rtol=1e-5, atol=1e-6)
    assert not np.allclose(report.oof_proba, single_report.oof_proba)
    assert sorted(set(report.fold_of_beat)) == [0, 1]


def test_two_ensembles_with_different_seeds_share_no_member():
    assert member_seeds(7, 1) == [7]
    first, second = member_seeds(1, 3), member_seeds(2, 3)
    assert first[0] == 1 and second[0] == 2 and len(set(first) | set(second)) == 6
    assert member_seeds(1, 3) == first  # derived, not drawn


def test_resume_after_interruption_ends_with_the_same_result(
    tmp_path, small_train, params, monkeypatch
):
    arrays = synthetic_dataset()
    reference, ref_report = train_ensemble(
        arrays, small_train, params.preprocess, tmp_path / "ref", progress=False
    )

    saves = {"n": 0}
    real_save = loop._save_checkpoint

    def crash_after_four_epochs(*args, **kwargs):
        real_save(*args, **kwargs)
        saves["n"] += 1
        if saves["n"] == 8:  # the middle of fold 1
            raise KeyboardInterrupt

    monkeypatch.setattr(loop, "_save_checkpoint", crash_after_four_epochs)
    with pytest.raises(KeyboardInterrupt):
        train_ensemble(arrays, small_train, params.preprocess, tmp_path / "run", progress=False)
    monkeypatch.setattr(loop, "_save_checkpoint", real_save)

    resumed, report = train_ensemble(
        arrays, small_train, params.preprocess, tmp_path / "run", resume=True, progress=False
    )
    assert report.history == ref_report.history
    np.testing.assert_array_equal(report.oof_proba, ref_report.oof_proba)
    for a, b in zip(report.epoch_val_proba, ref_report.epoch_val_proba, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(reference.state_dicts, resumed.state_dicts, strict=True):
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_resume_refuses_a_checkpoint_made_with_other_params(tmp_path, small_train, params):
    arrays = synthetic_dataset()
    train_ensemble(arrays, small_train, params.preprocess, tmp_path / "ckpt", progress=False)
    changed = dataclasses.replace(small_train, learning_rate=small_train.learning_rate * 2)
    with pytest.raises(ResumeError, match="other params"):
        train_ensemble(
            arrays, changed, params.preprocess, tmp_path / "ckpt", resume=True, progress=False
        )


def trained_beat_counts(monkeypatch) -> list[int]:
    """How many beats each training that follows gets (filled as they run)."""
    seen = []
    real = ensemble_module.TrainData

    def spy(**kwargs):
        seen.append(len(kwargs["labels"]))
        return real(**kwargs)

    monkeypatch.setattr(ensemble_module, "TrainData", spy)
    return seen


def test_training_never_sees_ds2(tmp_path, small_train, params, monkeypatch):
    arrays = synthetic_dataset()
    ds2 = synthetic_dataset(seed=1)
    ds2["split"][:] = "DS2"
    ds2["record"][:] = "100"
    merged = {k: np.concatenate([arrays[k], ds2[k]]) if arrays[k].ndim else arrays[k]
              for k in arrays}  # fmt: skip
    seen = trained_beat_counts(monkeypatch)
    _, report = train_ensemble(
        merged, small_train, params.preprocess, tmp_path / "c", progress=False
    )
    assert seen == [len(arrays["label"])]
    assert "100" not in report.folds


def _saved_and_reloaded_proba(classifier, arrays, tmp_path):
    """The bundle's probabilities after a save and load (checked equal to before and
    finite), and the predict_proba arguments they came from."""
    path = tmp_path / "cnn.pt"
    classifier.save(path)
    args = (arrays["windows"], arrays["rr"], arrays["rr_names"], arrays["record"])
    proba = BeatClassifier.load(path).predict_proba(*args)
    np.testing.assert_allclose(proba, classifier.predict_proba(*args), rtol=1e-5)
    assert np.isfinite(proba).all()
    return proba, args


def test_a_second_stage_is_fitted_tuned_and_shipped(tmp_path, small_train, params):
    arrays = synthetic_dataset()
    column = list(RR_FEATURES).index("pre_over_mean_5min")
    arrays["rr"][:, column] = np.where(arrays["label"] == 1, 0.7, 1.0)
    cfg = dataclasses.replace(
        small_train, second_stage="supraventricular", second_stage_c=1.0, ventricular_stage="none"
    )
    classifier, report = train_ensemble(
        arrays, cfg, params.preprocess, tmp_path / "ckpt", progress=False
    )
    assert classifier.second_stage is not None
    assert set(classifier.second_stage) == {"mean", "scale", "coef", "intercept", "offset"}
    assert report.val_metrics["sveb_se"] > 0.75  # S beats are premature in every record
    proba, args = _saved_and_reloaded_proba(classifier, arrays, tmp_path)
    cnn_alone = dataclasses.replace(classifier, second_stage=None).predict_proba(*args)
    called_other = ~np.isin(cnn_alone.argmax(axis=1), [0, 1])
    np.testing.assert_allclose(proba[called_other], cnn_alone[called_other], rtol=1e-6)
    assert not np.allclose(proba[~called_other], cnn_alone[~called_other])  # the stage acts


def test_a_ventricular_stage_is_fitted_after_the_second_and_shipped(tmp_path, small_train, params):
    arrays = synthetic_dataset()
    cfg = dataclasses.replace(
        small_train, second_stage="supraventricular", ventricular_stage="support"
    )
    classifier, _ = train_ensemble(
        arrays, cfg, params.preprocess, tmp_path / "ckpt", progress=False
    )
    assert set(classifier.ventricular_stage) == {"mean", "scale", "coef", "intercept", "offset"}
    proba, args = _saved_and_reloaded_proba(classifier, arrays, tmp_path)
    before = dataclasses.replace(classifier, ventricular_stage=None).predict_proba(*args)
    not_v = before.argmax(axis=1) != 2
    np.testing.assert_allclose(proba[not_v], before[not_v], rtol=1e-6)  # only V calls move


def test_bagged_offsets_choose_every_offset_of_the_decision_layer(
    tmp_path, small_train, params, monkeypatch
):
    from arrhythmia.training import calibration

    calls = []

    def spy(real):
        def bagged(candidates, predicted, labels, records, *args, **kwargs):
            calls.append((candidates.shape[1], len(np.unique(records))))
            return real(candidates, predicted, labels, records, *args, **kwargs)

        return bagged

    monkeypatch.setattr(calibration, "bagged_candidate", spy(calibration.bagged_candidate))
    cfg = dataclasses.replace(
        small_train,
        second_stage="supraventricular",
        ventricular_stage="support",
        offset_choice="bagged",
    )
    classifier, _ = train_ensemble(arrays := synthetic_dataset(), cfg, params.preprocess,
                                   tmp_path / "ckpt", progress=False)  # fmt: skip
    # the networks' S and V offsets: shipped and once per fold (each on the other fold's
    # 3 records); then each stage's single offset, the same way
    n_records = len(np.unique(arrays["record"]))
    assert sorted(calls) == sorted(
        [(5, n_records), (5, 3), (5, 3)] + [(1, n_records), (1, 3), (1, 3)] * 2
    )
    grid = ensemble_module.OFFSET_GRID
    assert all(b in grid for b in classifier.logit_bias)
    assert classifier.second_stage["offset"] in ensemble_module.STAGE_OFFSET_GRID
    assert classifier.ventricular_stage["offset"] in ensemble_module.VENTRICULAR_OFFSET_GRID


def test_a_ventricular_stage_needs_the_second_stage(params):
    with pytest.raises(ConfigError, match="second_stage"):
        dataclasses.replace(params.train, second_stage="none", ventricular_stage="support")


def test_an_epoch_takes_every_ectopic_beat_and_a_fresh_share_of_normal_ones(params):
    labels = np.array([0] * 1000 + [1] * 30 + [2] * 20)
    cfg = dataclasses.replace(params.train, normal_fraction=0.35, imbalance="focal_loss")
    weights = np.ones(5)
    first = loop.epoch_order(labels, cfg, weights, np.random.default_rng(0))
    second = loop.epoch_order(labels, cfg, weights, np.random.default_rng(1))
    assert len(set(first.tolist())) == len(first)  # no beat twice
    assert set(np.flatnonzero(labels > 0)) <= set(first.tolist())
    assert 0.3 < np.sum(labels[first] == 0) / 1000 < 0.4
    assert set(first.tolist()) != set(second.tolist())  # another share of N each epoch
    whole = dataclasses.replace(cfg, normal_fraction=1.0)
    assert sorted(loop.epoch_order(labels, whole, weights, np.random.default_rng(0))) == list(
        range(len(labels))
    )


def test_the_development_set_is_the_training_splits_and_ds1_alone_is_one_switch(
    tmp_path, small_train, params, monkeypatch
):
    ds1 = synthetic_dataset()
    svdb = synthetic_dataset(seed=2)
    svdb["split"] = np.full(len(svdb["label"]), "SVDB")
    svdb["record"][:] = np.repeat(["800", "802", "804", "806", "808", "810"], 40)
    ds2 = synthetic_dataset(seed=1)
    ds2["split"][:] = "DS2"
    merged = {k: np.concatenate([ds1[k], svdb[k], ds2[k]]) if ds1[k].ndim else ds1[k]
              for k in ds1}  # fmt: skip
    seen = trained_beat_counts(monkeypatch)
    quick = dataclasses.replace(small_train, max_epochs=1, folds=3)
    _, report = train_ensemble(merged, quick, params.preprocess, tmp_path / "a", progress=False)
    assert seen[-1] == len(ds1["label"]) + len(svdb["label"])
    assert set(report.folds) == set(RECORDS) | {"800", "802", "804", "806", "808", "810"}
    assert len(report.oof_proba) == seen[-1]

    only_ds1 = dataclasses.replace(quick, training_sets=["DS1"])
    _, report = train_ensemble(merged, only_ds1, params.preprocess, tmp_path / "b", progress=False)
    assert seen[-1] == len(ds1["label"]) and set(report.folds) == set(RECORDS)


def test_the_out_of_fold_output_is_the_best_epochs_held_out_prediction(
    tmp_path, small_train, params
):
    """Kept from validation, not recomputed: each fold's shipped network, run again on its
    held-out beats, gives the out-of-fold probabilities bit for bit."""
    from arrhythmia.models.bundle import ensemble_proba
    from arrhythmia.models.cnn import BeatCNN
    from arrhythmia.training.ensemble import development_set
    from arrhythmia.training.loop import centre_crop, model_config

    arrays = synthetic_dataset()
    cfg = dataclasses.replace(small_train, max_epochs=3, patience=1)
    classifier, report = train_ensemble(
        arrays, cfg, params.preprocess, tmp_path / "ckpt", progress=False
    )
    dev = development_set(arrays, cfg)
    for fold, state_dict in enumerate(classifier.state_dicts):
        model = BeatCNN(model_config(cfg, dev.data, 5))
        model.load_state_dict(state_dict)
        model.eval()
        held_out = np.flatnonzero(dev.fold_of_beat == fold)
        beats = centre_crop(dev.data.beats[held_out], cfg.max_shift)
        again = ensemble_proba([model], beats, dev.data.rr[held_out], [0.0] * 5)
        np.testing.assert_array_equal(report.oof_proba[held_out], again)
        # every epoch's held-out output is kept too, the shipped epoch's among them
        epochs = report.epoch_val_proba[fold]
        assert len(epochs) == len([r for r in report.history if r["fold"] == fold])
        np.testing.assert_array_equal(epochs[report.best_epochs[fold] - 1], again)


def replay_epochs(scores: list[float], cfg) -> tuple[loop.FoldState, list[bool], torch.nn.Module]:
    """A fold state fed these validation scores; epoch k's weights and outputs all equal k.
    Also whether it was done after each epoch."""
    model, state, done = torch.nn.Linear(2, 2), loop.FoldState(), []
    for epoch, score in enumerate(scores, start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        proba = np.full((3, 5), float(epoch), dtype=np.float32)
        state.record_epoch({"epoch": epoch, "val_score": score}, model, proba, cfg)
        done.append(state.done)
    return state, done, model


def test_the_fold_state_keeps_the_best_epoch_and_stops_after_patience(params):
    cfg = dataclasses.replace(params.train, patience=2, max_epochs=6)
    state, done, model = replay_epochs([0.3, 0.5, 0.4, 0.5], cfg)
    assert done == [False, False, False, True]
    assert state.done and state.epoch == 4 and state.bad_epochs == 2  # a tie is no better
    assert (state.best_epoch, state.best_score) == (2, 0.5)
    assert torch.equal(state.best_state["weight"], torch.full((2, 2), 2.0))
    assert state.val_probas[state.best_epoch - 1].numpy()[0, 0] == 2.0
    last, _, _ = replay_epochs([epoch / 10 for epoch in range(1, 7)], cfg)
    assert last.done and last.epoch == cfg.max_epochs and last.best_epoch == 6


def test_epoch_choice_last_trains_every_epoch_and_keeps_the_last(params):
    cfg = dataclasses.replace(params.train, patience=1, max_epochs=4, epoch_choice="last")
    state, done, _ = replay_epochs([0.6, 0.2, 0.1, 0.3], cfg)
    assert done == [False, False, False, True]  # worse scores do not stop it
    assert (state.best_epoch, state.best_score) == (4, 0.3)
    assert torch.equal(state.best_state["weight"], torch.full((2, 2), 4.0))
    assert state.val_probas[state.best_epoch - 1].numpy()[0, 0] == 4.0


def test_early_stopping_only_stops_a_run_that_keeping_the_last_epoch_continues(
    tmp_path, small_train, params
):
    """What benchmarks/epoch_choice.py rests on: the epochs an early-stopped network runs
    are those of the same network trained to its last epoch, output for output."""
    arrays = synthetic_dataset()
    best = dataclasses.replace(small_train, max_epochs=4, patience=1)
    last = dataclasses.replace(best, epoch_choice="last")
    _, stopped = train_ensemble(arrays, best, params.preprocess, tmp_path / "b", progress=False)
    _, full = train_ensemble(arrays, last, params.preprocess, tmp_path / "l", progress=False)
    assert any(len(e) < 4 for e in stopped.epoch_val_proba)  # some network did stop early
    for short, long in zip(stopped.epoch_val_proba, full.epoch_val_proba, strict=True):
        assert len(long) == 4
        np.testing.assert_array_equal(short, long[: len(short)])
    assert full.best_epochs == [4] * len(full.best_epochs)


def test_an_unknown_epoch_choice_is_refused(params):
    with pytest.raises(ConfigError, match="epoch_choice"):
        dataclasses.replace(params.train, epoch_choice="median")
    with pytest.raises(ConfigError, match="offset_choice"):
        dataclasses.replace(params.train, offset_choice="median")


def test_resume_refuses_a_checkpoint_of_another_training_loop(tmp_path, small_train, params):
    """A checkpoint whose fold state lacks a field (one written before the field existed)."""
    arrays = synthetic_dataset()
    quick = dataclasses.replace(small_train, max_epochs=1)
    train_ensemble(arrays, quick, params.preprocess, tmp_path / "ckpt", progress=False)
    path = tmp_path / "ckpt" / "fold0.pt"
    saved = torch.load(path, weights_only=True)
    del saved["state"]["val_probas"]
    torch.save(saved, path)
    with pytest.raises(ResumeError, match="another version of the training loop"):
        train_ensemble(
            arrays, quick, params.preprocess, tmp_path / "ckpt", resume=True, progress=False
        )


def test_ecg_noise_augmentation_reaches_its_share_at_its_level(params):
    from arrhythmia.detection.noise import ecg_noise_bank

    cfg = dataclasses.replace(
        params.train, neighbour_beats=True, ecg_noise_fraction=0.5, ecg_noise_snr_db=[6.0, 6.0]
    )
    bank = ecg_noise_bank(64, 120, 180.0, 40.0, np.random.default_rng(0))
    assert bank.shape == (64, 120) and abs(float(bank.std()) - 1.0) < 0.05
    x = np.zeros((2000, 8, 120), dtype=np.float32)  # 2 leads: beat, beat - template, neighbours
    loop.add_ecg_noise(x, bank, cfg, np.random.default_rng(1))
    noisy = np.abs(x).sum(axis=(1, 2)) > 0
    assert 0.45 < noisy.mean() < 0.55
    # the beat and beat-minus-template channels share the noise; the neighbours have their own
    np.testing.assert_array_equal(x[:, :2], x[:, 2:4])
    assert not np.allclose(x[noisy, :2], x[noisy, 4:6])
    expected_rms = 10 ** (-6 / 20) / np.sqrt(8)  # QRS amplitude 1 after scaling
    assert abs(float(x[noisy].std()) / expected_rms - 1) < 0.1


def test_ecg_noise_off_leaves_the_augmentation_stream_unchanged(params):
    from arrhythmia.detection.noise import ecg_noise_bank

    beats = np.random.default_rng(2).normal(size=(50, 4, 136)).astype(np.float32)
    bank = ecg_noise_bank(16, 128, 180.0, 40.0, np.random.default_rng(0))
    cfg = dataclasses.replace(params.train, neighbour_beats=False, ecg_noise_fraction=0.0)
    without = loop.augment(beats, cfg, 4, np.random.default_rng(3))
    with_bank = loop.augment(beats, cfg, 4, np.random.default_rng(3), bank)
    np.testing.assert_array_equal(without, with_bank)
    on = dataclasses.replace(cfg, ecg_noise_fraction=1.0)
    assert not np.array_equal(loop.augment(beats, on, 4, np.random.default_rng(3), bank), without)


def test_checkpoints_survive_a_change_of_the_decision_layer_only(params):
    cfg = params.train
    fingerprint = loop.params_fingerprint(cfg, {"n_beats": 10})
    decision_only = dataclasses.replace(
        cfg, ventricular_stage="none", second_stage_c=1.0, offset_choice="bagged"
    )
    assert loop.params_fingerprint(decision_only, {"n_beats": 10}) == fingerprint
    retrained = dataclasses.replace(cfg, learning_rate=cfg.learning_rate / 2)
    assert loop.params_fingerprint(retrained, {"n_beats": 10}) != fingerprint
