"""The model file: plain data only, versioned, refused with a clear message otherwise."""

from __future__ import annotations

import pytest
import torch

from arrhythmia.models.bundle import BUNDLE_VERSION, BeatClassifier, ModelFileError
from arrhythmia.models.cnn import BeatCNN, fused_for_inference
from tests.helpers import tiny_classifier

MARKER = "pickle-code-ran"


class _RunsCodeOnLoad:
    """A pickle payload that would create a file if it were ever unpickled."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_saved_bundle_loads_back_with_the_same_weights(tmp_path):
    original = tiny_classifier(seed=3)
    original.save(tmp_path / "model.pt")
    loaded = BeatClassifier.load(tmp_path / "model.pt")
    assert loaded.config == original.config and loaded.rr_features == original.rr_features
    for a, b in zip(loaded.state_dicts, original.state_dicts, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_bundle_holding_a_pickled_object_is_refused_and_never_executed(tmp_path):
    path = tmp_path / "model.pt"
    tiny_classifier().save(path)
    payload = torch.load(path, weights_only=True)
    payload["preprocess"] = _RunsCodeOnLoad(tmp_path / MARKER)
    torch.save(payload, path)

    with pytest.raises(ModelFileError, match="refused: not a file of plain tensors"):
        BeatClassifier.load(path)
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("version", [None, BUNDLE_VERSION + 1])
def test_an_unknown_format_version_is_a_clear_error(tmp_path, version):
    path = tmp_path / "model.pt"
    tiny_classifier().save(path)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = version
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match=rf"format version {version!r} is not one"):
        BeatClassifier.load(path)


def test_a_file_that_is_not_a_bundle_is_a_clear_error(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(ModelFileError, match="not an arrhythmia model bundle"):
        BeatClassifier.load(path)
    path.write_bytes(b"not a torch file at all")
    with pytest.raises(ModelFileError, match="refused"):
        BeatClassifier.load(path)


def test_a_damaged_bundle_is_a_clear_error(tmp_path):
    path = tmp_path / "model.pt"
    tiny_classifier().save(path)
    payload = torch.load(path, weights_only=True)
    del payload["config"]
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="damaged model bundle"):
        BeatClassifier.load(path)


def test_a_bundle_with_neighbours_and_the_sinus_template_predicts_after_a_round_trip(tmp_path):
    import dataclasses

    import numpy as np

    from arrhythmia.signal.rr import RR_FEATURES

    tiny = tiny_classifier(seed=4)
    config = dataclasses.replace(tiny.config, in_channels=8)
    torch.manual_seed(4)
    states = [BeatCNN(config).state_dict() for _ in range(2)]
    original = dataclasses.replace(
        tiny, config=config, state_dicts=states, neighbours=True, template_rule="sinus_cluster",
        _models=[], _traced=[],
    )  # fmt: skip
    original.save(tmp_path / "model.pt")
    loaded = BeatClassifier.load(tmp_path / "model.pt")
    assert loaded.neighbours and loaded.template_rule == "sinus_cluster"
    rng = np.random.default_rng(0)
    windows = rng.normal(0, 0.1, (40, 2, 252)).astype(np.float32)
    rr = np.ones((40, len(RR_FEATURES)), dtype=np.float32)
    records = np.zeros(40, dtype=int)
    proba = loaded.predict_proba(windows, rr, RR_FEATURES, records)
    np.testing.assert_allclose(proba, original.predict_proba(windows, rr, RR_FEATURES, records),
                               atol=1e-5)  # fmt: skip
    assert proba.shape == (40, 5) and np.isfinite(proba).all()


def test_a_bundle_carries_its_strip_af_model_as_plain_data(tmp_path):
    import numpy as np

    from arrhythmia.rhythm.strip_features import STRIP_FEATURES
    from arrhythmia.rhythm.strip_model import StripAfModel
    from arrhythmia.trees import TreeEnsemble

    one_split = TreeEnsemble(
        feature=np.array([3, -1, -1], np.int32), threshold=np.array([0.5, 0, 0]),
        left=np.array([1, -1, -1], np.int32), right=np.array([2, -1, -1], np.int32),
        value=np.array([0.0, -2.0, 2.0]), roots=np.array([0], np.int32),
        baseline=0.0, max_depth=1,
    )  # fmt: skip
    classifier = tiny_classifier()
    assert classifier.strip_af_model() is None  # a bundle without one: the threshold rule
    classifier.strip_af = StripAfModel(one_split, 0.4).to_dict()
    classifier.save(tmp_path / "model.pt")
    loaded = BeatClassifier.load(tmp_path / "model.pt").strip_af_model()
    rows = np.zeros((2, len(STRIP_FEATURES)))
    rows[1, 3] = 1.0
    assert loaded.threshold == 0.4 and [loaded.is_af(r) for r in rows] == [False, True]
    classifier.strip_af = {"feature": [0]}  # damaged
    with pytest.raises(ModelFileError, match="strip AF model"):
        classifier.strip_af_model()


def test_each_inference_network_computes_what_its_own_trace_and_its_weights_do():
    """The networks are copies of one trace, each given its own weights: the same outputs,
    bit for bit, as tracing each network alone, and the trained networks' to float
    precision; no network runs another's weights."""
    classifier = tiny_classifier(seed=5)
    generator = torch.Generator().manual_seed(0)
    for state in classifier.state_dicts:  # batch norm statistics that folding must carry
        for name, tensor in state.items():
            if name.endswith(("running_mean", "running_var")):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
    length = len(range(0, classifier.window_length, classifier.decimation))
    length -= 2 * classifier.crop_margin
    beats = torch.randn(16, classifier.config.in_channels, length, generator=generator)
    rr = torch.randn(16, classifier.config.n_rr, generator=generator)

    networks = classifier.inference_models()
    with torch.inference_mode():
        outputs = [network(beats, rr) for network in networks]
        for model, output in zip(classifier.models(), outputs, strict=True):
            own = torch.jit.freeze(torch.jit.trace(fused_for_inference(model), (beats, rr)))
            assert torch.equal(output, own(beats, rr))
            assert torch.allclose(output, model(beats, rr), atol=1e-5)
    assert not torch.allclose(outputs[0], outputs[1])
