"""Small builders shared by tests in several folders (import as `tests.helpers`)."""

from __future__ import annotations

TINY_RR = ("pre_over_local", "pre_over_post", "pre_over_record")


def tiny_classifier(seed: int = 0, preprocess: dict | None = None):
    """A random-initialised 2-fold ensemble of a very small BeatCNN, in dataset format."""
    import torch

    from arrhythmia.models.bundle import BeatClassifier
    from arrhythmia.models.cnn import BeatCNN, CnnConfig

    torch.manual_seed(seed)
    config = CnnConfig(in_channels=4, window_length=120, n_rr=3, widths=(4, 8))
    states = [BeatCNN(config).state_dict() for _ in range(2)]
    return BeatClassifier(
        config=config,
        state_dicts=states,
        rr_features=TINY_RR,
        decimation=2,
        crop_margin=3,
        fs=360,
        window_pre=90,
        window_length=252,
        preprocess=preprocess or {},
    )


def tiny_detector(excerpt_dir, seed: int = 0):
    """A QRS detector fitted in seconds on the committed 30-s excerpts (few trees)."""
    from arrhythmia.detection.training import TreeSettings, fit_detector, labelled_records

    data = labelled_records(excerpt_dir, ["100", "119", "208", "232"], progress=False)
    settings = TreeSettings(seed=seed, max_iter=60, learning_rate=0.1, max_leaf_nodes=15)
    detector, _ = fit_detector(data, settings)
    return detector
