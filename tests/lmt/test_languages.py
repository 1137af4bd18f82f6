import pytest

from lmt.errors import UnknownLanguageError
from lmt.languages import (
    CHINESE,
    ENGLISH,
    Direction,
    get_language,
    lmt_directions,
    lmt_languages,
    normalize_code,
    parse_directions,
    register_language,
)


def test_sixty_languages_by_tier():
    assert len(lmt_languages()) == 60
    assert [len(lmt_languages(t)) for t in ("high", "medium", "low")] == [13, 18, 29]


def test_234_directions_and_groups():
    dirs = lmt_directions()
    assert len(dirs) == 234 and len(set(dirs)) == 234
    groups = {g: sum(d.group == g for d in dirs) for g in ("en2x", "x2en", "zh2x", "x2zh")}
    assert groups == {"en2x": 59, "x2en": 59, "zh2x": 58, "x2zh": 58}
    assert Direction(ENGLISH, CHINESE) in dirs and Direction(CHINESE, ENGLISH) in dirs


@pytest.mark.parametrize(
    "alias,code",
    [("en", "eng_Latn"), ("zh_cn", "zho_Hans"), ("zh", "zho_Hans"), ("pt_br", "por_Latn"), ("nb", "nob_Latn"),
     ("no", "nob_Latn"), ("ky", "kir_Cyrl"), ("kir", "kir_Cyrl"), ("mvf", "mvf_Mong"), ("zh_TW", "zho_Hant"),
     ("ms", "zsm_Latn"), ("fa", "pes_Arab"), ("afr_Latn", "afr_Latn"), ("af", "afr_Latn")],
)
def test_aliases_resolve(alias, code):
    assert normalize_code(alias) == code


def test_names_for_prompts():
    assert get_language("ky").name == "Kirghiz"
    assert get_language("el").name == "Modern Greek"
    assert get_language("nb").name == "Norwegian Bokmål"
    assert get_language("km").name == "Central Khmer"
    assert get_language("yue").name == "Yue Chinese"
    assert get_language("ms").name == "Malay"


def test_unknown_code_names_closest():
    with pytest.raises(UnknownLanguageError) as err:
        normalize_code("kir_Cyr")
    assert "kir_Cyrl" in str(err.value)


def test_parse_directions_specs():
    assert len(parse_directions("x2zh")) == 58
    assert parse_directions(["en-ky", "zh_cn-de"]) == [Direction("eng_Latn", "kir_Cyrl"), Direction("zho_Hans", "deu_Latn")]
    assert parse_directions("en2ky") == [Direction("eng_Latn", "kir_Cyrl")]
    low = parse_directions("low")
    assert len(low) == 29 * 4 and all(d.tier == "low" for d in low)


def test_register_language():
    lang = register_language("xyz_Latn", "Xyzish", aliases=["xyz-x"])
    assert normalize_code("xyz-x") == "xyz_Latn" and lang.name == "Xyzish"
    with pytest.raises(UnknownLanguageError):
        register_language("bad", "Bad")


@pytest.mark.parametrize("alias,code", [("min", "min_Latn"), ("sq", "als_Latn"), ("lv", "lvs_Latn"), ("yi", "ydd_Hebr"),
                                        ("mn", "khk_Cyrl"), ("et", "est_Latn")])
def test_opus_codes_of_other_flores_languages(alias, code):
    assert normalize_code(alias) == code


@pytest.fixture()
def fresh_registry():
    """The registry as shipped, before and after the test (registrations are process-wide)."""
    from lmt import languages

    languages._registry.cache_clear()
    yield
    languages._registry.cache_clear()


def _readme_language_example() -> dict:
    """The YAML block of the README's "Adding a language" section."""
    import re
    from pathlib import Path

    import yaml

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Adding a language", 1)[1].split("\n## ", 1)[0]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def test_readme_language_example_is_usable_everywhere(tmp_path, fresh_registry, parallel_text):
    """The README's added language passes every place a code is checked, and a real prep run emits it."""
    import json

    import yaml

    from data_prep.filters.chain import resolve_filters, validate_filters_config
    from lmt.cli import main
    from lmt.config import load_experiment
    from tests.data_prep.conftest import write_moses

    with pytest.raises(UnknownLanguageError):
        normalize_code("xyz_Latn")  # unknown until a config adds it
    example = _readme_language_example()
    raw = tmp_path / "raw"
    # "Xyzish" text: the Kirghiz sentences under the new code (the rule filters only; no LID model knows xy).
    write_moses(raw, "Toy", "en", "xy", parallel_text["eng_Latn"], parallel_text["kir_Cyrl"])
    example["name"] = "xyz"
    example["run_dir"] = str(tmp_path / "run")
    example["prep"]["corpora"] = [{"path": str(raw)}]
    example["prep"]["filters"]["defaults"] = {"length": {}, "src_equals_tgt": {}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(example), encoding="utf-8")

    cfg = load_experiment(path)
    assert cfg.prep.languages == ["eng_Latn", "zho_Hans", "xyz_Latn"]
    assert list(cfg.prep.filters.per_language) == ["xyz_Latn"]
    assert cfg.prep.downsample.per_direction == {"xyz_Latn-eng_Latn": 0.2}
    assert parse_directions(cfg.eval.directions) == [Direction("eng_Latn", "xyz_Latn"), Direction("xyz_Latn", "eng_Latn")]
    validate_filters_config(cfg.prep.filters, "prep.filters")
    (lid,) = [params for name, _, params in resolve_filters(cfg.prep.filters, "en", "xyz", prefix="prep.filters") if name == "lid"]
    assert lid == {"extra_labels": {"xy": ["xyz_Latn"]}}

    assert main(["prep", str(path), "--num-workers", "1"]) == 0  # the LID rule too: no label for xy, so not judged
    manifest = json.loads((tmp_path / "run" / "data" / "prep" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["directions"]["eng_Latn-xyz_Latn"]["after"] == 8
    assert manifest["directions"]["xyz_Latn-eng_Latn"]["ratio"] == 0.2  # the README's per-direction ratio
