#!/usr/bin/env python3
"""Regenerates the .wbxml half of the WBXML corpus from its .xml half.

For every NAME.xml (the readable form of src/wbxml/xml.rs):
  1. `horde-activesync wbxml encode` gives our bytes;
  2. libwbxml decodes them (`wbxml2xml -l ACTIVESYNC`) and re-encodes its own
     reading (`xml2wbxml -a -n -v 1.3`); when libwbxml reproduces our bytes
     exactly, NAME.wbxml is libwbxml's output, otherwise (tokens libwbxml does
     not know, opaque content it re-encodes as text) it is ours;
  3. NAME.xml is rewritten in canonical form (our decode of NAME.wbxml).
The encoder of each file is listed in ENCODERS. Needs libwbxml2-utils and a
built binary: BIN=target/debug/horde-activesync tests/data/wbxml/regenerate.py
"""
import os, pathlib, subprocess, sys, tempfile

here = pathlib.Path(__file__).resolve().parent
binary = os.environ.get("BIN", str(here.parents[2] / "target/debug/horde-activesync"))


def run(*args, data=None):
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


encoders = []
for source in sorted(here.glob("*.xml")):
    ours = run(binary, "wbxml", "encode", str(source))
    with tempfile.TemporaryDirectory() as tmp:
        ours_file = pathlib.Path(tmp, "ours.wbxml")
        ours_file.write_bytes(ours)
        lib_xml = pathlib.Path(tmp, "lib.xml")
        lib_wbxml = pathlib.Path(tmp, "lib.wbxml")
        subprocess.run(["wbxml2xml", "-l", "ACTIVESYNC", "-m", "0", "-o", lib_xml, ours_file],
                       capture_output=True)
        subprocess.run(["xml2wbxml", "-a", "-n", "-v", "1.3", "-o", lib_wbxml, lib_xml],
                       capture_output=True)
        by_libwbxml = lib_wbxml.exists() and lib_wbxml.read_bytes() == ours
    source.with_suffix(".wbxml").write_bytes(ours)
    source.write_bytes(run(binary, "wbxml", "decode", str(source.with_suffix(".wbxml"))))
    encoders.append(f"{source.stem} {'libwbxml' if by_libwbxml else 'horde-activesync'}\n")

(here / "ENCODERS").write_text("".join(encoders))
print(f"{len(encoders)} documents, "
      f"{sum('libwbxml' in e for e in encoders)} reproduced by libwbxml", file=sys.stderr)
