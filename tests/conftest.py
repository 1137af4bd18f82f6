"""Shared fixtures: tiny multilingual text, a SentencePiece tokenizer trained on
it, and a tiny random Qwen3-architecture model. Everything is built here; no
test touches the network or ../shared/data."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("LMT_PROGRESS", "0")
# Tests run two at a time (pytest -n 2) on small machines: one thread per
# process avoids OpenMP oversubscription, which made tiny-model tests ~50x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# A few aligned sentences (English, Chinese, German, Russian, Kirghiz, French):
# enough for a tokenizer and for exercising multi-way code paths.
PARALLEL = {
    "eng_Latn": [
        "The cat sleeps on the warm windowsill.",
        "We will meet at the station tomorrow morning.",
        "Scientists discovered a new species of frog in the rainforest.",
        "The museum opens at nine o'clock every day.",
        "She bought three kilograms of apples at the market.",
        "The river flooded the village after heavy rain.",
        "Please close the door when you leave the room.",
        "The football team won the championship last year.",
    ],
    "zho_Hans": [
        "猫在温暖的窗台上睡觉。",
        "我们明天早上在车站见面。",
        "科学家在雨林中发现了一种新的青蛙。",
        "博物馆每天九点开门。",
        "她在市场上买了三公斤苹果。",
        "大雨过后，河水淹没了村庄。",
        "离开房间时请关上门。",
        "这支足球队去年赢得了冠军。",
    ],
    "deu_Latn": [
        "Die Katze schläft auf der warmen Fensterbank.",
        "Wir treffen uns morgen früh am Bahnhof.",
        "Wissenschaftler entdeckten im Regenwald eine neue Froschart.",
        "Das Museum öffnet jeden Tag um neun Uhr.",
        "Sie kaufte auf dem Markt drei Kilogramm Äpfel.",
        "Der Fluss überschwemmte nach starkem Regen das Dorf.",
        "Bitte schließe die Tür, wenn du den Raum verlässt.",
        "Die Fußballmannschaft gewann letztes Jahr die Meisterschaft.",
    ],
    "rus_Cyrl": [
        "Кошка спит на тёплом подоконнике.",
        "Мы встретимся на вокзале завтра утром.",
        "Учёные обнаружили в тропическом лесу новый вид лягушки.",
        "Музей открывается каждый день в девять часов.",
        "Она купила на рынке три килограмма яблок.",
        "После сильного дождя река затопила деревню.",
        "Пожалуйста, закрой дверь, когда выходишь из комнаты.",
        "Футбольная команда выиграла чемпионат в прошлом году.",
    ],
    "kir_Cyrl": [
        "Мышык жылуу терезе текчесинде уктайт.",
        "Биз эртең эртең менен вокзалда жолугабыз.",
        "Окумуштуулар тропикалык токойдон бакалардын жаңы түрүн табышты.",
        "Музей күн сайын саат тогузда ачылат.",
        "Ал базардан үч килограмм алма сатып алды.",
        "Катуу жамгырдан кийин дарыя айылды каптады.",
        "Бөлмөдөн чыкканда эшикти жаап коюңуз.",
        "Футбол командасы өткөн жылы чемпионатты утуп алды.",
    ],
    "fra_Latn": [
        "Le chat dort sur le rebord chaud de la fenêtre.",
        "Nous nous retrouverons à la gare demain matin.",
        "Des scientifiques ont découvert une nouvelle espèce de grenouille dans la forêt tropicale.",
        "Le musée ouvre tous les jours à neuf heures.",
        "Elle a acheté trois kilos de pommes au marché.",
        "La rivière a inondé le village après de fortes pluies.",
        "Merci de fermer la porte en quittant la pièce.",
        "L'équipe de football a remporté le championnat l'année dernière.",
    ],
}


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Pin torch to one intra-op thread (see OMP_NUM_THREADS above)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def parallel_text() -> dict[str, list[str]]:
    """Aligned sentences per FLORES code (same order in every language)."""
    return PARALLEL


def write_fasttext_model(path: Path, words: dict, labels: dict, dim: int = 4) -> Path:
    """Write a supervised softmax fastText model (format version 12) by hand:
    header, args, dictionary (words then labels), input and output matrices."""
    out = bytearray(struct.pack("<ii", 793712314, 12))
    # dim ws epoch minCount neg wordNgrams loss=softmax model=sup bucket minn maxn lrUpdateRate t
    out += struct.pack("<12id", dim, 5, 1, 1, 5, 1, 3, 3, 0, 0, 0, 100, 1e-4)
    entries = [(w, 0) for w in words] + [("__label__" + lab, 1) for lab in labels]
    out += struct.pack("<iiiqq", len(entries), len(words), len(labels), 100, -1)  # -1: not pruned
    for w, kind in entries:
        out += w.encode() + b"\x00" + struct.pack("<qb", 1, kind)
    for matrix in (words, labels):
        out += b"\x00" + struct.pack("<qq", len(matrix), dim)  # not quantised; rows x dim
        for vec in matrix.values():
            out += struct.pack(f"<{dim}f", *vec)
    path.write_bytes(bytes(out))
    return path


@pytest.fixture(scope="session")
def flores_lid_model(tmp_path_factory) -> str:
    """A tiny fastText LID model labelling in FLORES codes, as GlotLID/OpenLID do."""
    path = tmp_path_factory.mktemp("lid") / "glotlid-like.bin"
    words = {"hello": [1, 0, 0, 0], "world": [1, 0, 0, 0], "hallo": [0, 1, 0, 0], "welt": [0, 1, 0, 0], "你好": [0, 0, 1, 0]}
    labels = {"eng_Latn": [6, 0, 0, 0], "deu_Latn": [0, 6, 0, 0], "cmn_Hani": [0, 0, 6, 0]}
    return str(write_fasttext_model(path, words, labels))


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> str:
    """A SentencePiece tokenizer (HF fast format, ChatML template) on PARALLEL."""
    from lmt.modeling import train_tokenizer

    out = tmp_path_factory.mktemp("tiny_tokenizer")
    texts = [s for sents in PARALLEL.values() for s in sents] * 3
    train_tokenizer(texts, out, vocab_size=700)
    return str(out)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer_dir) -> str:
    """A tiny random Qwen3-architecture model saved with its tokenizer."""
    from transformers import AutoTokenizer

    from lmt.modeling import build_qwen3_model

    out = tmp_path_factory.mktemp("tiny_model")
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    build_qwen3_model(tok, out)
    return str(out)


@pytest.fixture(scope="session")
def varied_model_dir(tmp_path_factory, tiny_tokenizer_dir) -> str:
    """A tiny Qwen3 model whose (random) outputs vary by input.

    The shared ``tiny_model_dir`` emits only newlines (cleaned to ``#``); a wider
    weight initialisation gives distinct outputs, so order and pass checks bite.
    """
    from transformers import AutoTokenizer

    from lmt.modeling import build_qwen3_model

    out = tmp_path_factory.mktemp("varied_model")
    build_qwen3_model(AutoTokenizer.from_pretrained(tiny_tokenizer_dir), out, initializer_range=0.3, seed=1)
    return str(out)
