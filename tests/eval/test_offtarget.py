"""Off-target rate: data prep's language ID and label maps, per hypothesis."""

from __future__ import annotations

import pytest

from eval.offtarget import OffTargetDetector, prep_lid_settings
from lmt.config import load_experiment
from lmt.errors import MissingResourceError


@pytest.fixture(scope="module")
def detector():
    return OffTargetDetector()


def test_flags_wrong_language_copies_and_blanks(detector, parallel_text):
    ky = parallel_text["kir_Cyrl"][:4]
    hyps = [ky[0], parallel_text["eng_Latn"][1], "#", parallel_text["rus_Cyrl"][3]]
    res = detector.score(hyps, "kir_Cyrl")
    assert res["segments"] == [0, 1, 1, 1] and res["count"] == 3 and res["score"] == 75.0
    assert res["wrong_labels"] == {"eng_Latn": 1, "(empty)": 1, "rus_Cyrl": 1}
    assert res["signature"].startswith("lid:lid.176.ftz|sha256:") and res["signature"].endswith("|labels:iso")
    assert detector.score(parallel_text["deu_Latn"], "deu_Latn")["score"] == 0.0


def test_label_maps_and_confusables_as_in_prep(detector):
    # lid.176 labels written Malay "id" and Cantonese "zh": prep accepts both, so does eval.
    assert detector.score(["Saya suka makan nasi goreng bersama keluarga saya pada hujung minggu."], "zsm_Latn")["count"] == 0
    assert detector.score(["Saya suka makan nasi goreng bersama keluarga saya pada hujung minggu."], "deu_Latn")["count"] == 1
    assert detector.score(["我哋今日去咗公園玩，好開心。"], "yue_Hant")["count"] == 0
    # Inner Mongolian has no lid.176 label: judged by its script.
    res = detector.score(["ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ ᠪᠢᠴᠢᠭ", "Mongol khel"], "mvf_Mong")
    assert res["segments"] == [0, 1] and res["wrong_labels"] == {"(not Mong script)": 1}


def test_settings_come_from_the_prep_lid_filter(tmp_path):
    cfg_path = tmp_path / "x.yaml"
    cfg_path.write_text(
        "# lmt eval x.yaml\nname: x\nprep:\n  corpora: []\n  filters:\n    defaults:\n      lid: {confusables: {deu_Latn: [nld_Latn]}, threshold: 0.9}\n",
        encoding="utf-8",
    )
    settings = prep_lid_settings(load_experiment(cfg_path))
    assert settings["confusables"] == {"deu_Latn": ["nld_Latn"]}
    det = OffTargetDetector(settings)  # the threshold is not a label setting: ignored
    assert det.score(["De kat slaapt op de warme vensterbank."], "deu_Latn")["count"] == 0


def test_missing_lid_model_is_named(tmp_path):
    with pytest.raises(MissingResourceError, match="language-ID model .*nope.bin does not exist"):
        OffTargetDetector({"model_path": str(tmp_path / "nope.bin")})
