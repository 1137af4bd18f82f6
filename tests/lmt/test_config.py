import pytest

from lmt.config import config_hash, load_experiment
from lmt.errors import ConfigError


def test_load_with_overrides(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("# lmt run exp.yaml\nname: t1\nseed: 3\nlanguages:\n  - {code: xyq_Latn, name: Xyq}\n")
    cfg = load_experiment(p, ["seed=7", "run_dir=/tmp/x"])
    assert cfg.seed == 7 and str(cfg.root) == "/tmp/x" and cfg.name == "t1"
    assert cfg.stage_dir("prep").as_posix() == "/tmp/x/data/prep"
    from lmt.languages import normalize_code

    assert normalize_code("xyq_Latn") == "xyq_Latn"


def test_unknown_key_names_key_and_file(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\nsede: 3\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(p)
    assert "sede" in str(err.value) and str(p) in str(err.value)


def test_wrong_type_names_key(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\n")
    with pytest.raises(ConfigError, match="seed"):
        load_experiment(p, ["seed=abc"])


def test_bad_yaml_and_missing(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_experiment(tmp_path / "nope.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_experiment(p)


def test_config_hash_stable(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\n")
    a, b = load_experiment(p), load_experiment(p, ["seed=1234"])
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(load_experiment(p, ["seed=1"]))


def test_variables_expand(tmp_path, monkeypatch):
    import lmt

    monkeypatch.setenv("LMT_TEST_DIR", "/data/x")
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\nrun_dir: ${env:LMT_TEST_DIR}/run\naux_map: ${pkg:lmt}/data/aux_map.yaml\n")
    cfg = load_experiment(p)
    assert cfg.run_dir == "/data/x/run"
    from pathlib import Path

    assert Path(cfg.aux_map) == Path(lmt.__file__).parent / "data" / "aux_map.yaml"
    p.write_text("name: t\nrun_dir: ${env:LMT_NOPE_NOT_SET}\n")
    with pytest.raises(ConfigError, match="LMT_NOPE_NOT_SET"):
        load_experiment(p)


def test_list_index_overrides():
    from lmt.config.base import apply_overrides

    data = {"prep": {"corpora": [{"path": "a"}, {"path": "b"}]}}
    apply_overrides(data, ["prep.corpora.1.path=/x", "prep.num_workers=4", "eval.directions=[en-de, de-en]"])
    assert data == {"prep": {"corpora": [{"path": "a"}, {"path": "/x"}], "num_workers": 4},
                    "eval": {"directions": ["en-de", "de-en"]}}
    with pytest.raises(ConfigError, match="no index"):
        apply_overrides(data, ["prep.corpora.5.path=/y"])


def test_unknown_key_suggests_the_valid_ones(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: t\nprep:\n  corpora: [{path: x, fromat: tmx}]\n  filterz: {}\n")
    with pytest.raises(ConfigError) as err:
        load_experiment(p)
    msg = str(err.value)
    assert "prep.filterz: unknown key; did you mean 'filters'?" in msg
    assert "prep.corpora.0.fromat: unknown key; did you mean 'format'?" in msg and "src_path" in msg
