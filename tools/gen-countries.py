#!/usr/bin/env python3
"""Regenerate crates/core/data/countries.tsv from Debian's iso-codes package.

    apt-get install iso-codes && python3 tools/gen-countries.py
"""
import gettext
import json

SRC = "/usr/share/iso-codes/json/iso_3166-1.json"
OUT = "crates/core/data/countries.tsv"

countries = json.load(open(SRC))["3166-1"]
nl = gettext.translation("iso_3166-1", "/usr/share/locale", languages=["nl"])
with open(OUT, "w") as f:
    f.write("# ISO 3166-1 alpha-2, English name, Dutch name. Generated from Debian's iso-codes package (LGPL-2.1+);\n")
    f.write("# regenerate with tools/gen-countries.py.\n")
    for c in countries:
        en = c.get("common_name", c["name"])
        dutch = nl.gettext(en)
        if dutch == en and "common_name" in c and nl.gettext(c["name"]) != c["name"]:
            dutch = nl.gettext(c["name"])
        f.write("\t".join((c["alpha_2"], en, dutch)) + "\n")
