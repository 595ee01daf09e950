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
