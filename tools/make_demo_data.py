"""Regenerate the OPUS-format demo corpora under ``lmt/data/demo/`` from its TSVs.

Run from the repository root::

    python tools/make_demo_data.py           # rewrite the generated files
    python tools/make_demo_data.py --check   # exit 1 if a committed file is stale

Sources (written for the LMT project, hand-edited, the only inputs):

* ``sentences.tsv``: 150 multi-way parallel sentences (``demo-0001`` ...), columns
  ``id eng_Latn zho_Hans deu_Latn nld_Latn rus_Cyrl kir_Cyrl``;
* ``heldout.tsv``: 24 further sentences (``held-0001`` ...) for evaluation;
* ``mono.tsv``: ``lang text``, 30 monolingual sentences per language.

Outputs (byte-for-byte deterministic: fixed zip timestamps, gzip mtime 0):

* ``opus/moses/Demo.de-en.{de,en}``: Moses sides + injected noise (see NOISE_*);
* ``opus/moses/Demo.en-nl.txt.zip``: Moses zip as OPUS ships it (+ README, LICENSE);
* ``opus/tmx/Demo.en-zh_CN.tmx.gz``: TMX 1.4;
* ``opus/xces/Demo.en-{ru,ky}.xml.gz`` + ``opus/xces/{en,ru,ky}.zip``: XCES
  alignments and their OPUS XML documents (3 documents of 50 sentences);
* ``flores/dev/{code}.dev`` (held-out 1-8), ``flores/devtest/{code}.devtest``
  (held-out 9-24): the FLORES-200 release layout;
* ``mono/{code}.txt``: one sentence per line;
* ``README.md``: what all of the above is.

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "lmt" / "data" / "demo"

LANGS = ["eng_Latn", "zho_Hans", "deu_Latn", "nld_Latn", "rus_Cyrl", "kir_Cyrl"]
N_TRAIN, N_HELD, N_MONO = 150, 24, 30
N_DEV = 8  # held-out 1-8 -> dev, 9-24 -> devtest
DOC_SIZE = 50  # XCES: 3 documents of 50 sentences
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
NL = b"\n"

# ---------------------------------------------------------------- injected noise
# Moses de-en: row numbers (1-based, into sentences.tsv) repeated verbatim at the end.
DE_EN_DUPLICATES = [3, 42, 118]
# (English, "German" side that is really English): wrong-language pairs.
DE_EN_WRONG_LANG = [
    ("Thank you very much for your help yesterday.", "Thanks a lot for helping me yesterday."),
    ("The shop around the corner sells fresh bread.", "There is a shop around the corner with fresh bread."),
]
# A one-word English side against a long German paragraph: absurd length ratio.
DE_EN_LENGTH_RATIO = (
    "Yes.",
    "Ja, und außerdem möchte ich bei dieser Gelegenheit noch einmal ausführlich erklären, warum wir die Reise "
    "im nächsten Sommer nicht mit dem Zug, sondern mit dem Auto machen wollen: Die Strecke ist lang, die Kinder "
    "werden schnell müde, wir müssen viel Gepäck mitnehmen, und auf dem Land fahren abends kaum noch Busse, mit "
    "denen wir vom Bahnhof bis zu unserer Ferienwohnung in den Bergen kommen könnten.",
)
# Source == target (an untranslated address line).
DE_EN_SAME = ("Hotel Astoria, Lindenstraße 12", "Hotel Astoria, Lindenstraße 12")
# Moses zip en-nl: duplicated rows.
EN_NL_DUPLICATES = [10, 77]
# TMX en-zh_CN: (English, "Chinese" side that is really English).
EN_ZH_WRONG_LANG = [
    ("See you at the station at eight.", "Meet me at the station at eight o'clock."),
    ("My phone battery is almost empty.", "The battery of my phone is nearly dead."),
]
# XCES: an English-only caption in en/demo/doc1.xml as s7 (a 1-to-0 link in both
# alignments) and one target sentence split in two (a 1-to-2 link).
XCES_UNALIGNED_EN = "(Photo: the old bridge over the river in winter.)"
XCES_UNALIGNED_AT = ("doc1", 7)  # English sentence id s7 of doc1
XCES_SPLIT_ROW = 64  # sentences.tsv row whose ru/ky translation is split (doc2, s14)

OPUS_XCES = {"eng_Latn": "en", "rus_Cyrl": "ru", "kir_Cyrl": "ky"}

MOSES_README = """Demo -- a toy sentence-aligned corpus in OPUS Moses format

Written for the LMT project (multilingual machine translation) as sample data
for `lmt demo`; not taken from any corpus. Languages: en (English), nl (Dutch).
Files: Demo.en-nl.en and Demo.en-nl.nl, one sentence per line, line-aligned.
Includes {dups} exact duplicate pairs on purpose (deduplication is exercised).
Regenerate with: python tools/make_demo_data.py
"""

LICENSE_TEXT = """The LMT demo data was written for the LMT project.
To the extent possible under law, its authors dedicate it to the public domain
(CC0 1.0, https://creativecommons.org/publicdomain/zero/1.0/); it may also be used
under the Apache License 2.0, like the rest of the repository.
"""


# ---------------------------------------------------------------- reading


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for i, row in enumerate(rows, 2):
        for key, val in row.items():
            if key is None or val is None:
                raise SystemExit(f"{path}:{i}: wrong number of columns")
            if not val.strip() or val != val.strip() or "\n" in val or "\r" in val:
                raise SystemExit(f"{path}:{i}: empty or badly spaced field {key!r}")
    return rows


def load_parallel(name: str, prefix: str, n: int) -> list[dict[str, str]]:
    path = DEMO / name
    rows = read_tsv(path)
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
    if header != ["id"] + LANGS:
        raise SystemExit(f"{path}: header must be id + {LANGS}, got {header}")
    if len(rows) != n:
        raise SystemExit(f"{path}: expected {n} rows, got {len(rows)}")
    for i, row in enumerate(rows, 1):
        if row["id"] != f"{prefix}-{i:04d}":
            raise SystemExit(f"{path}: row {i} has id {row['id']}, expected {prefix}-{i:04d}")
    return rows


def load_mono() -> dict[str, list[str]]:
    path = DEMO / "mono.tsv"
    out: dict[str, list[str]] = {lang: [] for lang in LANGS}
    for row in read_tsv(path):
        if row["lang"] not in out:
            raise SystemExit(f"{path}: unknown language {row['lang']}")
        out[row["lang"]].append(row["text"])
    for lang, texts in out.items():
        if len(texts) != N_MONO:
            raise SystemExit(f"{path}: {lang} has {len(texts)} sentences, expected {N_MONO}")
    return out


# ---------------------------------------------------------------- writers


def lines(texts) -> bytes:
    return "".join(t + "\n" for t in texts).encode("utf-8")


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(data)
    return buf.getvalue()


def zipped(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def moses_de_en(train) -> tuple[list[str], list[str]]:
    de = [r["deu_Latn"] for r in train]
    en = [r["eng_Latn"] for r in train]
    for i in DE_EN_DUPLICATES:
        de.append(train[i - 1]["deu_Latn"])
        en.append(train[i - 1]["eng_Latn"])
    for e, fake_de in DE_EN_WRONG_LANG:
        de.append(fake_de)
        en.append(e)
    en.append(DE_EN_LENGTH_RATIO[0])
    de.append(DE_EN_LENGTH_RATIO[1])
    en.append(DE_EN_SAME[0])
    de.append(DE_EN_SAME[1])
    return de, en


def moses_en_nl(train) -> bytes:
    en = [r["eng_Latn"] for r in train] + [train[i - 1]["eng_Latn"] for i in EN_NL_DUPLICATES]
    nl = [r["nld_Latn"] for r in train] + [train[i - 1]["nld_Latn"] for i in EN_NL_DUPLICATES]
    return zipped(
        [
            ("README", MOSES_README.format(dups=len(EN_NL_DUPLICATES)).encode("utf-8")),
            ("LICENSE", LICENSE_TEXT.encode("utf-8")),
            ("Demo.en-nl.en", lines(en)),
            ("Demo.en-nl.nl", lines(nl)),
        ]
    )


def tmx_en_zh(train) -> bytes:
    pairs = [(r["eng_Latn"], r["zho_Hans"]) for r in train] + list(EN_ZH_WRONG_LANG)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<tmx version="1.4">',
        '<header creationtool="lmt-make-demo-data" creationtoolversion="1" datatype="plaintext" '
        'segtype="sentence" adminlang="en" srclang="en" o-tmf="lmt"/>',
        "  <body>",
    ]
    for en, zh in pairs:
        out += [
            "    <tu>",
            f'      <tuv xml:lang="en"><seg>{escape(en)}</seg></tuv>',
            f'      <tuv xml:lang="zh_CN"><seg>{escape(zh)}</seg></tuv>',
            "    </tu>",
        ]
    out += ["  </body>", "</tmx>"]
    return gz(lines(out))


def xml_document(doc_id: str, texts: list[str]) -> bytes:
    """An OPUS XML document; sentence ids s1, s2, ... per document, paragraphs of 10."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', f'<document id="{doc_id}">']
    for start in range(0, len(texts), 10):
        out.append(f'<p id="{start // 10 + 1}">')
        for k, text in enumerate(texts[start : start + 10], start + 1):
            out.append(f'<s id="s{k}">{escape(text)}</s>')
        out.append("</p>")
    out.append("</document>")
    return lines(out)


def split_in_two(text: str) -> tuple[str, str]:
    head, sep, tail = text.partition(", ")
    if not sep or not tail:
        raise SystemExit(f"cannot split {text!r} in two at ', '")
    return head + ".", tail[0].upper() + tail[1:]


def xces(train) -> dict[str, bytes]:
    """Alignment files and document zips under opus/xces/ (relative path -> bytes)."""
    docs = [f"doc{d + 1}" for d in range(len(train) // DOC_SIZE)]
    en_docs: dict[str, list[str]] = {}
    for d, doc in enumerate(docs):
        en = [r["eng_Latn"] for r in train[d * DOC_SIZE : (d + 1) * DOC_SIZE]]
        if doc == XCES_UNALIGNED_AT[0]:
            en.insert(XCES_UNALIGNED_AT[1] - 1, XCES_UNALIGNED_EN)
        en_docs[doc] = en
    files: dict[str, bytes] = {
        "en.zip": zipped([(f"Demo/xml/en/demo/{doc}.xml", xml_document(doc, en_docs[doc])) for doc in docs])
    }
    for lang in ("rus_Cyrl", "kir_Cyrl"):
        code = OPUS_XCES[lang]
        members, groups = [], []
        for d, doc in enumerate(docs):
            rows = train[d * DOC_SIZE : (d + 1) * DOC_SIZE]
            tgt: list[str] = []
            links: list[str] = []
            e = 0  # English sentence counter in this document
            for row_no, row in enumerate(rows, d * DOC_SIZE + 1):
                e += 1
                if doc == XCES_UNALIGNED_AT[0] and e == XCES_UNALIGNED_AT[1]:
                    links.append(f"s{e};")
                    e += 1
                if row_no == XCES_SPLIT_ROW:
                    a, b = split_in_two(row[lang])
                    tgt += [a, b]
                    links.append(f"s{e};s{len(tgt) - 1} s{len(tgt)}")
                else:
                    tgt.append(row[lang])
                    links.append(f"s{e};s{len(tgt)}")
            members.append((f"Demo/xml/{code}/demo/{doc}.xml", xml_document(doc, tgt)))
            grp = [f'<linkGrp targType="s" fromDoc="en/demo/{doc}.xml.gz" toDoc="{code}/demo/{doc}.xml.gz">']
            grp += [f'<link id="SL{i}" xtargets={quoteattr(x)} />' for i, x in enumerate(links, 1)]
            grp.append("</linkGrp>")
            groups += grp
        files[f"{code}.zip"] = zipped(members)
        head = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<!DOCTYPE cesAlign PUBLIC "-//CES//DTD XML cesAlign//EN" "">',
            '<cesAlign version="1.0">',
        ]
        files[f"Demo.en-{code}.xml.gz"] = gz(lines(head + groups + ["</cesAlign>"]))
    return files


README = """# LMT demo data

Toy-scale sample data for `lmt demo` (data prep -> tokenizer -> tiny model -> CPT
-> SFT -> FLORES-format eval on CPU). Every sentence was **written for the LMT
project** (not copied from any corpus): everyday topics -- weather, travel, food,
school, work, family, city, nature, health, sport, shopping, time, numbers.

Languages (FLORES codes / OPUS codes): English `eng_Latn`/en, Simplified Chinese
`zho_Hans`/zh_CN, German `deu_Latn`/de, Dutch `nld_Latn`/nl, Russian
`rus_Cyrl`/ru, Kirghiz (Kyrgyz) `kir_Cyrl`/ky.

## Sources (edit these)

| file | content |
|---|---|
| `sentences.tsv` | {n_train} multi-way parallel sentences, ids `demo-0001`..`demo-{n_train:04d}`; columns `id` + the six codes |
| `heldout.tsv` | {n_held} further sentences, ids `held-0001`..`held-{n_held:04d}`, disjoint from the above, for evaluation |
| `mono.tsv` | `lang`, `text`: {n_mono} monolingual sentences per language, disjoint from both |

Line *i* of every language is the same sentence. All sentences pass the project's
`lid` filter with the bundled lid.176 model (top-1 = the expected language,
probability >= 0.5 for the five high-resource languages; Kirghiz is labelled `ky`).

## Generated (do not edit: run `python tools/make_demo_data.py`; `--check` verifies)

| file | lines / content |
|---|---|
{generated}

## Noise injected (so the filters have something to do)

* `Demo.de-en` (Moses): {dup_de} exact duplicate pairs (rows {dup_de_rows} again), {wrong_de}
  pairs whose German side is English, 1 pair with an absurd length ratio (`Yes.`
  against a {long_words}-word German paragraph), 1 pair with source == target
  (an untranslated address line). All appended after the {n_train} clean pairs.
* `Demo.en-nl.txt.zip` (Moses zip): {dup_nl} exact duplicate pairs (rows {dup_nl_rows} again).
* `Demo.en-zh_CN.tmx.gz` (TMX): {wrong_zh} pairs whose Chinese side is English.
* XCES `Demo.en-ru` / `Demo.en-ky`: documents `doc1`..`doc3` ({doc_size} sentences each);
  one 1-to-0 link (`en/demo/doc1` s7, an English-only photo caption, `xtargets="s7;"`)
  and one 1-to-2 link (`doc2` English s14 = `demo-{split_row:04d}`, whose Russian / Kirghiz
  translation is written as two `<s>` elements). Sentence ids are `s1`, `s2`, ... per
  document, as the alignment refers to them; the zips hold the documents uncompressed
  as `Demo/xml/{{lang}}/demo/docN.xml` while the alignment names `.xml.gz` (as OPUS does).

The held-out and monolingual files carry no noise.

## Licence

Written for the LMT project; dedicated to the public domain under CC0 1.0, and
also usable under the Apache License 2.0 like the rest of the repository.
"""


def build(train, held, mono) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    de, en = moses_de_en(train)
    files["opus/moses/Demo.de-en.de"] = lines(de)
    files["opus/moses/Demo.de-en.en"] = lines(en)
    files["opus/moses/Demo.en-nl.txt.zip"] = moses_en_nl(train)
    files["opus/tmx/Demo.en-zh_CN.tmx.gz"] = tmx_en_zh(train)
    for name, data in xces(train).items():
        files[f"opus/xces/{name}"] = data
    for lang in LANGS:
        files[f"flores/dev/{lang}.dev"] = lines(r[lang] for r in held[:N_DEV])
        files[f"flores/devtest/{lang}.devtest"] = lines(r[lang] for r in held[N_DEV:])
        files[f"mono/{lang}.txt"] = lines(mono[lang])

    def describe(path: str, data: bytes) -> str:
        if path.endswith((".zip", ".gz")):
            if path.endswith("Demo.en-nl.txt.zip"):
                what = f"zip: README, LICENSE, Demo.en-nl.en/.nl ({N_TRAIN + len(EN_NL_DUPLICATES)} lines each)"
            elif path.endswith(".tmx.gz"):
                what = f"gzip TMX 1.4, {N_TRAIN + len(EN_ZH_WRONG_LANG)} translation units (en, zh_CN)"
            elif path.endswith(".xml.gz"):
                what = f"gzip XCES cesAlign, 3 linkGrp, {N_TRAIN + 1} links"
            else:
                what = "zip of 3 OPUS XML documents"
            return f"| `{path}` | {what} |"
        return f"| `{path}` | {data.count(NL)} |"

    generated = "\n".join(describe(p, d) for p, d in sorted(files.items()))
    files["README.md"] = README.format(
        n_train=N_TRAIN,
        n_held=N_HELD,
        n_mono=N_MONO,
        generated=generated,
        dup_de=len(DE_EN_DUPLICATES),
        dup_de_rows=", ".join(map(str, DE_EN_DUPLICATES)),
        wrong_de=len(DE_EN_WRONG_LANG),
        long_words=len(DE_EN_LENGTH_RATIO[1].split()),
        dup_nl=len(EN_NL_DUPLICATES),
        dup_nl_rows=", ".join(map(str, EN_NL_DUPLICATES)),
        wrong_zh=len(EN_ZH_WRONG_LANG),
        doc_size=DOC_SIZE,
        split_row=XCES_SPLIT_ROW,
    ).encode("utf-8")
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    args = ap.parse_args(argv)
    train = load_parallel("sentences.tsv", "demo", N_TRAIN)
    held = load_parallel("heldout.tsv", "held", N_HELD)
    mono = load_mono()
    seen: dict[str, str] = {}
    for where, texts in (
        [("sentences.tsv", [r[lang] for r in train]) for lang in LANGS]
        + [("heldout.tsv", [r[lang] for r in held]) for lang in LANGS]
        + [("mono.tsv", mono[lang]) for lang in LANGS]
    ):
        for t in texts:
            if t in seen:
                raise SystemExit(f"{where}: {t!r} also appears in {seen[t]}")
            seen[t] = where
    files = build(train, held, mono)
    stale = []
    for rel, data in sorted(files.items()):
        path = DEMO / rel
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(data)
        Path(tmp.name).chmod(0o644)
        Path(tmp.name).replace(path)
    if args.check:
        if stale:
            print("stale (run python tools/make_demo_data.py):", *stale, sep="\n  ", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files up to date")
        return 0
    print(f"wrote {len(files)} files under {DEMO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
