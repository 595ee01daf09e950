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


@pytest.mark.parametrize("metric", ["ds2_veb_se", "DS2_sveb_pp", "ds2_accuracy"])
def test_a_gate_on_the_test_set_is_refused_at_start_up(raw_params, metric):
    raw = copy.deepcopy(raw_params)
    raw["register"]["gate_metric"] = metric
    with pytest.raises(ConfigError, match=rf"gate_metric: '{metric}' is a DS2 \(test set\)"):
        params_from_dict(raw)


def test_every_output_path_has_one_home_in_params(params):
    """dvc.yaml interpolates params.yaml's paths; no stage output path is spelt out twice."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    dvc = (root / "dvc.yaml").read_text()
    for value in vars(params.paths).values():
        assert dvc.count(value) == 0, f"{value} is written in dvc.yaml; use ${{paths.*}}"
    stages = yaml.safe_load(dvc)["stages"]
    for name, stage in stages.items():
        for entry in stage.get("outs", []) + stage.get("metrics", []) + stage.get("plots", []):
            path = entry if isinstance(entry, str) else next(iter(entry))
            assert path.startswith("${paths."), f"{name}: output {path} not from params.paths"


def test_a_params_file_that_is_not_yaml_is_a_clear_error(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train: {seed: 1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_params(path)


def test_training_sets_hold_ds1_and_never_the_test_set(raw_params):
    assert params_from_dict(raw_params).train.training_sets == ["DS1", "SVDB"]
    ds1_only = copy.deepcopy(raw_params)
    ds1_only["train"]["training_sets"] = ["DS1"]
    assert params_from_dict(ds1_only).train.training_sets == ["DS1"]  # the literature's setting
    for bad in (["DS1", "DS2"], ["SVDB"], []):
        wrong = copy.deepcopy(raw_params)
        wrong["train"]["training_sets"] = bad
        with pytest.raises(ConfigError, match="training_sets"):
            params_from_dict(wrong)
