import numpy as np
import pytest
import torch

from arrhythmia.models.cnn import (
    BeatCNN,
    CnnConfig,
    fused_for_inference,
    model_size_bytes,
    parameter_count,
)
from arrhythmia.models.inputs import beat_channels, record_templates, rr_inputs, template_beats


def _config(**overrides):
    return CnnConfig(**{"in_channels": 4, "window_length": 118, "n_rr": 6, **overrides})


def test_output_shape_and_size(params):
    t = params.train
    model = BeatCNN(_config(widths=tuple(t.widths), kernel_size=t.kernel_size))
    logits = model(torch.randn(7, 4, 118), torch.randn(7, 6))
    assert logits.shape == (7, 5)
    n = parameter_count(model)
    assert 10_000 < n < 200_000  # small enough to train on two CPU cores in minutes
    assert model_size_bytes(model) >= 4 * n  # float32 weights plus batch-norm buffers


def test_model_accepts_other_window_lengths():
    model = BeatCNN(_config(window_length=250))
    assert model(torch.randn(3, 4, 250), torch.randn(3, 6)).shape == (3, 5)


def test_folding_batch_norm_keeps_the_outputs_and_leaves_the_model_alone():
    torch.manual_seed(1)
    model = BeatCNN(_config())
    with torch.no_grad():  # running statistics far from the identity, as after training
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-2, 2)
                module.running_var.uniform_(0.1, 4)
                module.weight.uniform_(0.5, 2)
                module.bias.uniform_(-1, 1)
    model.eval()
    fused = fused_for_inference(model)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules()) == 9
    x, r = torch.randn(16, 4, 118), torch.randn(16, 6)
    with torch.inference_mode():
        torch.testing.assert_close(fused(x, r), model(x, r), atol=1e-5, rtol=1e-5)


def test_overfits_a_batch():
    torch.manual_seed(0)
    model = BeatCNN(_config(dropout=0.0))
    x, r = torch.randn(32, 4, 118), torch.randn(32, 6)
    y = torch.arange(32) % 5
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(x, r), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    assert (model(x, r).argmax(1) == y).float().mean() == 1.0
    assert loss.item() < 0.05


def test_template_is_the_record_median():
    windows = np.stack([np.full((2, 4), v, dtype=np.float32) for v in [1, 2, 9, 10, 20, 30]])
    records = np.array(["a", "a", "a", "b", "b", "b"])
    templates = record_templates(windows, records)
    np.testing.assert_array_equal(templates[:3], np.full((3, 2, 4), 2.0))
    np.testing.assert_array_equal(templates[3:], np.full((3, 2, 4), 20.0))
    channels = beat_channels(windows, records)
    assert channels.shape == (6, 4, 4)
    np.testing.assert_array_equal(channels[2, 2:], np.full((2, 4), 7.0))  # 9 - median 2


def test_rr_inputs_select_and_log_scale():
    rr = np.array([[0.8, 1.0, 0.5]], dtype=np.float32)
    out = rr_inputs(rr, ["a", "b", "c"], ["c", "b"])
    np.testing.assert_allclose(out, np.log([[0.5, 1.0]]), rtol=1e-6)


def test_template_from_non_premature_beats_ignores_the_ectopic_majority():
    # 10 sinus beats (value 1) and 30 premature ones (value 5) in one record.
    windows = np.concatenate([np.full((10, 2, 4), 1.0), np.full((30, 2, 4), 5.0)]).astype(
        np.float32
    )
    records = np.zeros(40, dtype=int)
    pre_over_upper = np.concatenate([np.full(10, 1.0), np.full(30, 0.6)])
    rr = np.column_stack([np.ones(40), pre_over_upper])
    include = template_beats(rr, ["x", "pre_over_upper"], "non_premature", 0.9)
    assert record_templates(windows, records)[0, 0, 0] == 5.0  # the median is ectopic
    assert record_templates(windows, records, include)[0, 0, 0] == 1.0
    assert template_beats(rr, ["x", "pre_over_upper"], "all", 0.9) is None
    # Too few non-premature beats: fall back to every beat.
    few = np.zeros(40, dtype=bool)
    few[:3] = True
    assert record_templates(windows, records, few)[0, 0, 0] == 5.0


def _shaped_beats(shape: np.ndarray, n: int, rng) -> np.ndarray:
    return (shape[None, None, :] + rng.normal(0, 0.02, (n, 2, len(shape)))).astype(np.float32)


def test_sinus_cluster_template_keeps_the_largest_group_of_non_premature_beats():
    # One record, 252-sample windows at 360 Hz, R peak at 90: 40 sinus beats, 30 escape
    # beats of another shape at the sinus cycle (not premature), 90 premature ectopic beats.
    rng = np.random.default_rng(0)
    t = np.arange(252)
    sinus = np.exp(-(((t - 90) / 4.0) ** 2))
    escape = -1.5 * np.exp(-(((t - 95) / 12.0) ** 2))
    ectopic = 0.7 * np.exp(-(((t - 90) / 8.0) ** 2))
    windows = np.concatenate([_shaped_beats(sinus, 40, rng), _shaped_beats(escape, 30, rng),
                              _shaped_beats(ectopic, 90, rng)])  # fmt: skip
    records = np.zeros(len(windows), dtype=int)
    pre_over_upper = np.r_[np.full(70, 1.0), np.full(90, 0.6)]
    rr = np.column_stack([np.ones(len(windows)), pre_over_upper])
    names = ["x", "pre_over_upper"]

    include = template_beats(rr, names, "sinus_cluster", 0.9, windows, records, 360.0, 90)
    assert include[:40].all() and not include[40:].any()
    template = record_templates(windows, records, include)[0, 0]
    np.testing.assert_allclose(template, sinus, atol=0.05)
    # the non-premature rule alone takes the escape beats in as well
    assert template_beats(rr, names, "non_premature", 0.9)[:70].all()


def test_sinus_cluster_template_is_per_record_and_needs_the_windows():
    rng = np.random.default_rng(1)
    t = np.arange(252)
    a, b = np.exp(-(((t - 90) / 4.0) ** 2)), -np.exp(-(((t - 90) / 6.0) ** 2))
    windows = np.concatenate([_shaped_beats(a, 50, rng), _shaped_beats(b, 50, rng)])
    records = np.repeat(["r1", "r2"], 50)
    rr = np.column_stack([np.ones(100), np.ones(100)])
    include = template_beats(rr, ["x", "pre_over_upper"], "sinus_cluster", 0.9, windows,
                             records, 360.0, 90)  # fmt: skip
    templates = record_templates(windows, records, include)
    np.testing.assert_allclose(templates[0, 0], a, atol=0.05)
    np.testing.assert_allclose(templates[-1, 0], b, atol=0.05)
    with pytest.raises(ValueError, match="needs the beat windows"):
        template_beats(rr, ["x", "pre_over_upper"], "sinus_cluster", 0.9)
    with pytest.raises(ValueError, match="not one of"):
        template_beats(rr, ["x", "pre_over_upper"], "mode", 0.9)


def test_neighbour_channels_are_the_previous_and_next_beat_of_the_same_record():
    from arrhythmia.models.inputs import neighbour_index

    records = np.array(["a", "a", "a", "b", "b"])
    previous, following = neighbour_index(records)
    assert previous.tolist() == [0, 0, 1, 3, 3] and following.tolist() == [1, 2, 2, 4, 4]
    windows = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 2, 3), np.float32)
    channels = beat_channels(windows, records, neighbours=True)
    assert channels.shape == (5, 8, 3)
    assert channels[1, 4, 0] == 0.0 and channels[1, 6, 0] == 2.0  # beats 0 and 2
    assert channels[3, 4, 0] == 3.0 and channels[2, 6, 0] == 2.0  # no neighbour across records
    np.testing.assert_array_equal(beat_channels(windows, records), channels[:, :4])
