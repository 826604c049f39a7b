#!/usr/bin/env python3
"""Extract the runnable examples of README.md, docs/*.md and docs/stpm.1 (see
tests/cli/doc_examples.sh for the convention) and print them as JSON: a list of
{"file", "line", "section", "start", "command", "exit"}: the examples of one file and
section (0 before the file's first doc-examples marker, then 1, 2, ... from each marker
on) run on one database."""
import json
import os
import re
import sys

root = sys.argv[1]
files = ["README.md"] + sorted(
    os.path.join("docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md")
) + ["docs/stpm.1", "docs/zh_CN/stpm.1"]

out = []
for rel in files:
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    man = rel.endswith(".1")
    start = "demo"
    section = 0
    i = 0
    while i < len(lines):
        l = lines[i]
        first = i + 1
        m = re.match(r'\s*(?:<!--|\.\\")\s*doc-examples:\s*(empty|demo)', l)
        if m:
            start = m.group(1)
            section += 1
        s = l.strip()
        if man:
            s = s.replace("\\-", "-").replace("\\e", "\\").replace("\\(aq", "'")
        if not s.startswith("$ ") or not re.match(r"\$ (stpm |[^#]*\| *stpm )", s):
            i += 1
            continue
        cmd = s[2:]
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            nxt = lines[i].strip()
            if man:
                nxt = nxt.replace("\\-", "-").replace("\\e", "\\").replace("\\(aq", "'")
            cmd = cmd[:-1].rstrip() + " " + nxt
        want = 0
        m = re.search(r"#\s*exit\s+(\d+)\s*$", cmd)
        if m:
            want = int(m.group(1))
        out.append({"file": rel, "line": first, "section": section, "start": start, "command": cmd, "exit": want})
        i += 1
json.dump(out, sys.stdout, ensure_ascii=False)
