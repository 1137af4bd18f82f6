"""Regenerate lmt/data/languages.tsv (run by hand; pycountry is only needed here).

    python tools/make_language_table.py /path/to/flores200/dev > lmt/data/languages.tsv
"""
import os
import sys

import pycountry

# code short tier name  (the 60 LMT languages; names exactly as the released LMT inference code, src/utils.py en_lan_dict)
LMT = """\
arb_Arab ar high Arabic
eng_Latn en high English
spa_Latn es high Spanish
deu_Latn de high German
fra_Latn fr high French
ita_Latn it high Italian
jpn_Jpan ja high Japanese
nld_Latn nl high Dutch
pol_Latn pl high Polish
por_Latn pt high Portuguese
rus_Cyrl ru high Russian
tur_Latn tr high Turkish
zho_Hans zh high Chinese
bul_Cyrl bg medium Bulgarian
ben_Beng bn medium Bengali
ces_Latn cs medium Czech
dan_Latn da medium Danish
ell_Grek el medium Modern Greek
pes_Arab fa medium Persian
fin_Latn fi medium Finnish
hin_Deva hi medium Hindi
hun_Latn hu medium Hungarian
ind_Latn id medium Indonesian
kor_Hang ko medium Korean
nob_Latn nb medium Norwegian Bokmål
ron_Latn ro medium Romanian
slk_Latn sk medium Slovak
swe_Latn sv medium Swedish
tha_Thai th medium Thai
ukr_Cyrl uk medium Ukrainian
vie_Latn vi medium Vietnamese
amh_Ethi am low Amharic
azj_Latn az low Azerbaijani
bod_Tibt bo low Tibetan
heb_Hebr he low Modern Hebrew
hrv_Latn hr low Croatian
hye_Armn hy low Armenian
isl_Latn is low Icelandic
jav_Latn jv low Javanese
kat_Geor ka low Georgian
kaz_Cyrl kk low Kazakh
khm_Khmr km low Central Khmer
kir_Cyrl ky low Kirghiz
lao_Laoo lo low Lao
mvf_Mong mvf low Inner Mongolian
mar_Deva mr low Marathi
zsm_Latn ms low Malay
mya_Mymr my low Burmese
npi_Deva ne low Nepali
pbt_Arab ps low Pashto
sin_Sinh si low Sinhala
swh_Latn sw low Swahili
tam_Taml ta low Tamil
tel_Telu te low Telugu
tgk_Cyrl tg low Tajik
tgl_Latn tl low Tagalog
uig_Arab ug low Uighur
urd_Arab ur low Urdu
uzn_Latn uz low Uzbek
yue_Hant yue low Yue Chinese
"""

# Extra aliases (OPUS file names, older codes, macro-language codes).
ALIASES = {
    "zho_Hans": "zh_cn zh-cn zh_hans zh-hans zh_CN zho cmn cmn_Hans chi",
    "zho_Hant": "zh_tw zh-tw zh_hant zh-hant zh_TW cmn_Hant",
    "por_Latn": "pt_br pt-br pt_BR pt_pt pt_PT",
    "nob_Latn": "no nor nb_NO",
    "arb_Arab": "ara",
    "pes_Arab": "fas per fa_IR",
    "zsm_Latn": "msa may",
    "swh_Latn": "swa",
    "uzn_Latn": "uzb",
    "azj_Latn": "aze",
    "npi_Deva": "nep",
    "pbt_Arab": "pus",
    "mvf_Mong": "mn_cn mn-cn mvf",
    "yue_Hant": "zh_hk zh-hk zh_yue",
    "spa_Latn": "es_ES es_MX es_AR",
    "fra_Latn": "fr_FR fr_CA",
    "eng_Latn": "en_US en_GB",
    "tgl_Latn": "fil fil_Latn",
    "ell_Grek": "gre",
    "deu_Latn": "ger",
    "nld_Latn": "dut",
    "ces_Latn": "cze",
    "slk_Latn": "slo",
    "ron_Latn": "rum mo",
    "hye_Armn": "arm",
    "kat_Geor": "geo",
    "isl_Latn": "ice",
    "mya_Mymr": "bur",
    "bod_Tibt": "tib",
    "est_Latn": "et est ekk ekk_Latn",
    "als_Latn": "sq sqi alb",
    "lvs_Latn": "lv lav",
    "plt_Latn": "mg mlg",
    "kmr_Latn": "ku kur",
    "ydd_Hebr": "yi yid",
    "ory_Orya": "or ori",
    "quy_Latn": "qu que",
    "min_Latn": "min",
    "gaz_Latn": "om orm",
    "khk_Cyrl": "mn mon",
    "grn_Latn": "gug gug_Latn",
    "kon_Latn": "ktu ktu_Latn",
    "tzm_Tfng": "zgh zgh_Tfng",
}


def iso1(iso3):
    lang = pycountry.languages.get(alpha_3=iso3)
    return getattr(lang, "alpha_2", "") if lang else ""


def name_of(iso3):
    lang = pycountry.languages.get(alpha_3=iso3)
    return lang.name if lang else iso3


def main(flores_dir):
    rows = {}
    for line in LMT.splitlines():
        code, short, tier, name = line.split(" ", 3)
        iso3 = code.split("_")[0]
        i1 = short if len(short) == 2 else ""
        rows[code] = (code, short, i1, iso3, name, code.split("_")[1], tier)
    for fname in sorted(os.listdir(flores_dir)):
        code = fname.split(".")[0]
        if code in rows:
            continue
        iso3, script = code.split("_")
        i1 = iso1(iso3)
        rows[code] = (code, "", i1, iso3, name_of(iso3), script, "")
    print("code\tshort\tiso639_1\tiso639_3\tname\tscript\ttier\taliases")
    for code, row in rows.items():
        print("\t".join(row) + "\t" + ALIASES.get(code, ""))


if __name__ == "__main__":
    main(sys.argv[1])
