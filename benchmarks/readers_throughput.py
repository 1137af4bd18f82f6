"""OPUS reader throughput and memory: ours vs. straightforward baselines, same run.

    OMP_NUM_THREADS=1 python benchmarks/readers_throughput.py --pairs 1000000

Writes a synthetic corpus (German-like / English-like sentences, 1 in 1000 lines
with invalid UTF-8, 1 in 500 empty) in every OPUS format into a temp folder,
then reads it with

* ours: ``data_prep.readers.read_corpus`` (records with provenance, counts,
  validation, hardened XML);
* baseline: what a one-off script does, building the same record dicts --
  ``zip(open(..), open(..))`` text iteration for Moses (no validation, no
  provenance), ``defusedxml.ElementTree.iterparse`` (the safe stdlib route)
  for TMX, ``xml.etree`` (C, entities unguarded) for XCES.

Prints pairs per CPU-second of both (process time: the machine may be shared),
the ratio, and the tracemalloc peak of ours.
"""

from __future__ import annotations

import argparse
import gzip
import random
import tempfile
import time
import tracemalloc
import zipfile
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

from data_prep.readers import CorpusSource, read_corpus

WORDS_DE = "die katze schläft auf der warmen fensterbank und wir treffen uns morgen früh am bahnhof".split()
WORDS_EN = "the cat sleeps on the warm windowsill and we will meet at the station tomorrow morning".split()


def sentences(n: int, seed: int = 0):
    rng = random.Random(seed)
    for i in range(n):
        k = rng.randint(4, 20)
        de = " ".join(rng.choices(WORDS_DE, k=k)).capitalize() + "."
        en = " ".join(rng.choices(WORDS_EN, k=k)).capitalize() + "."
        if i % 500 == 7:
            en = ""
        yield de, en


def write_all(folder: Path, n: int, n_xml: int) -> dict:
    paths = {}
    with open(folder / "Synth.de-en.de", "wb") as fd, open(folder / "Synth.de-en.en", "wb") as fe:
        for i, (de, en) in enumerate(sentences(n)):
            fd.write(de.encode() + (b"\xff" if i % 1000 == 3 else b"") + b"\n")
            fe.write(en.encode() + b"\n")
    paths["moses"] = folder / "Synth.de-en"
    for side in ("de", "en"):
        with open(folder / f"Synth.de-en.{side}", "rb") as f, gzip.open(folder / f"gz/Synth.de-en.{side}.gz", "wb", 1) as g:
            g.write(f.read())
    paths["moses_gz"] = folder / "gz/Synth.de-en"
    with zipfile.ZipFile(folder / "de-en.txt.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.write(folder / "Synth.de-en.de", "Synth.de-en.de")
        z.write(folder / "Synth.de-en.en", "Synth.de-en.en")
    paths["moses_zip"] = folder / "de-en.txt.zip"
    with gzip.open(folder / "Synth.de-en.tmx.gz", "wt", 1, encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<tmx version="1.4"><header/><body>\n')
        for de, en in sentences(n_xml):
            f.write(f'<tu><tuv xml:lang="de"><seg>{escape(de)}</seg></tuv><tuv xml:lang="en"><seg>{escape(en)}</seg></tuv></tu>\n')
        f.write("</body></tmx>\n")
    paths["tmx"] = folder / "Synth.de-en.tmx.gz"
    per_doc = 200
    pairs = list(sentences(n_xml))
    xml = folder / "Synth" / "xml"
    xml.mkdir(parents=True)
    docs = [pairs[i : i + per_doc] for i in range(0, len(pairs), per_doc)]
    for li, lang in enumerate(("de", "en")):
        with zipfile.ZipFile(xml / f"{lang}.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for d, doc in enumerate(docs):
                body = "".join(f'<s id="s{j}">{escape(p[li])}</s>\n' for j, p in enumerate(doc, 1))
                z.writestr(f"Synth/xml/{lang}/{d}.xml", f'<?xml version="1.0" encoding="utf-8"?>\n<document>\n{body}</document>\n')
    with gzip.open(xml / "de-en.xml.gz", "wt", 1, encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<cesAlign version="1.0">\n')
        for d, doc in enumerate(docs):
            f.write(f'<linkGrp targType="s" fromDoc="de/{d}.xml.gz" toDoc="en/{d}.xml.gz">\n')
            f.writelines(f'<link xtargets="s{j};s{j}"/>\n' for j in range(1, len(doc) + 1))
            f.write("</linkGrp>\n")
        f.write("</cesAlign>\n")
    paths["xces"] = xml / "de-en.xml.gz"
    return paths


def ours(path: Path, measure_memory: bool = False) -> tuple[int, float, float]:
    counts = Counter()
    if measure_memory:
        tracemalloc.start()
    t = time.process_time()
    n = sum(1 for _ in read_corpus(CorpusSource(path=str(path)), counts))
    dt = time.process_time() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if measure_memory else float("nan")
    if measure_memory:
        tracemalloc.stop()
    return n, dt, peak


def baseline_moses(prefix: Path) -> tuple[int, float]:
    t = time.process_time()
    n = 0
    with open(f"{prefix}.de", encoding="utf-8", errors="replace") as fd, open(f"{prefix}.en", encoding="utf-8") as fe:
        for i, (de, en) in enumerate(zip(fd, fe), 1):
            de, en = de.strip(), en.strip()
            if de and en:
                rec = {"src_lang": "deu_Latn", "tgt_lang": "eng_Latn", "src": de, "tgt": en, "corpus": "Synth", "origin": f"x:{i}"}
                n += rec is not None
    return n, time.process_time() - t


def baseline_tmx(path: Path) -> tuple[int, float]:
    import defusedxml.ElementTree as DET

    t = time.process_time()
    n = 0
    with gzip.open(path, "rb") as f:
        for _event, elem in DET.iterparse(f, events=("end",)):
            if elem.tag == "tu":
                segs = [(tuv.findtext("seg") or "").strip() for tuv in elem.iter("tuv")]
                if all(segs):
                    rec = {"src_lang": "deu_Latn", "tgt_lang": "eng_Latn", "src": segs[0], "tgt": segs[1], "corpus": "Synth"}
                    n += rec is not None
                elem.clear()
    return n, time.process_time() - t


def baseline_xces(path: Path) -> tuple[int, float]:
    import xml.etree.ElementTree as ET

    t = time.process_time()
    n = 0
    zips = {lang: zipfile.ZipFile(path.parent / f"{lang}.zip") for lang in ("de", "en")}

    def load(doc: str) -> dict:
        lang, name = doc.split("/", 1)
        root = ET.fromstring(zips[lang].read(f"Synth/xml/{lang}/{name[:-3]}"))
        return {s.get("id"): " ".join("".join(s.itertext()).split()) for s in root.iter("s")}

    with gzip.open(path, "rb") as f:
        for _event, elem in ET.iterparse(f, events=("start",)):
            if elem.tag == "linkGrp":
                a, b = load(elem.get("fromDoc")), load(elem.get("toDoc"))
            elif elem.tag == "link":
                left, right = elem.get("xtargets").split(";")
                s = " ".join(a[i] for i in left.split())
                tt = " ".join(b[i] for i in right.split())
                if s and tt:
                    rec = {"src_lang": "deu_Latn", "tgt_lang": "eng_Latn", "src": s, "tgt": tt, "corpus": "Synth"}
                    n += rec is not None
    return n, time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1_000_000, help="Moses pairs")
    ap.add_argument("--xml-pairs", type=int, default=200_000, help="TMX / XCES pairs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "gz").mkdir()
        t = time.process_time()
        paths = write_all(folder, args.pairs, args.xml_pairs)
        print(f"wrote {args.pairs:,} Moses / {args.xml_pairs:,} TMX+XCES pairs in {time.process_time() - t:.0f}s")
        print(f"{'format':<10} {'pairs':>9} {'ours pairs/cpu-s':>16} {'baseline pairs/cpu-s':>20} {'ratio':>6} {'ours peak MiB':>14}")
        rows = [
            ("moses", baseline_moses),
            ("moses_gz", None),
            ("moses_zip", None),
            ("tmx", baseline_tmx),
            ("xces", baseline_xces),
        ]
        for fmt, base in rows:
            n, dt, _ = ours(paths[fmt])
            _, _, peak = ours(paths[fmt], measure_memory=True) if fmt in ("moses", "xces") else (0, 0, float("nan"))
            if base is not None:
                bn, bdt = base(paths[fmt])
                b_rate = f"{bn / bdt:>20,.0f}"
                ratio = f"{(n / dt) / (bn / bdt):>6.2f}"
            else:
                b_rate, ratio = f"{'-':>20}", f"{'-':>6}"
            print(f"{fmt:<10} {n:>9,} {n / dt:>16,.0f} {b_rate} {ratio} {peak:>14.1f}")


if __name__ == "__main__":
    main()
