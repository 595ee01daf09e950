import copy

import pytest

from arrhythmia.config import ConfigError, load_params, params_from_dict


def test_real_params_parse(params):
    assert params.preprocess.filter_order == 4
    assert params.validate_dataset.expected_counts["DS1"]["N"] == 45866


def test_missing_key_is_reported(raw_params):
    raw = copy.deepcopy(raw_params)
    del raw["preprocess"]["lowpass_hz"]
    with pytest.raises(ConfigError, match=r"params.preprocess: missing key\(s\) lowpass_hz"):
        params_from_dict(raw)


def test_unknown_key_is_reported(raw_params):
    raw = copy.deepcopy(raw_params)
    raw["preprocess"]["lowpas_hz"] = 40
    with pytest.raises(ConfigError, match="unknown key"):
        params_from_dict(raw)


def test_wrong_type_is_reported(raw_params):
    raw = copy.deepcopy(raw_params)
    raw["preprocess"]["filter_order"] = "four"
    with pytest.raises(ConfigError, match="params.preprocess.filter_order: expected int"):
        params_from_dict(raw)


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match="no such params file"):
        load_params(tmp_path / "params.yaml")
