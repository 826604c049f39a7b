#!/usr/bin/env python3
"""The Chinese interface's lint (TAP): every user-facing string of cli/ and core/ is marked
for translation, and the catalog po/zh_CN.po translates every marked one.

1. po/POTFILES.in lists every .c file of cli/ and core/ (and only existing files).
2. No unmarked user-facing string: xgettext extracts the marked strings (po/xgettext-args:
   _(), N_(), NC_(), the error object's functions, cli_usage_error, the option tables) and,
   with --extract-all, every string literal; a literal of the second set that is not in the
   first is unmarked. It is user-facing when it reads as English prose (two words or
   more), or when it is a table's column name (an array handed to cli_table_new) or a
   command table's summary. Not user-facing: SQL, usage synopses ("stpm plan add CODE ..."),
   command lines, configuration files, machine formats (NOT_MESSAGES below); a line that
   writes one carries the comment `i18n-ok: WHY`.
3. Every marked string is translated: po/zh_CN.po merged with the strings extracted now
   (msgmerge, no fuzzy matching) passes `msgfmt --check --statistics` with 0 untranslated
   and 0 fuzzy messages; po/zh_CN.po itself has no fuzzy or untranslated entry either.
"""
import os
import re
import subprocess
import sys
import tempfile

root = os.environ.get("STPM_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
po = os.path.join(root, "po")
n = 0
failed = 0


def tap(ok, name, diag=()):
    global n, failed
    n += 1
    if ok:
        print(f"ok {n} - {name}")
    else:
        failed += 1
        print(f"not ok {n} - {name}")
        for d in diag:
            for line in str(d).splitlines():
                print("# " + line)


def xgettext_args():
    with open(os.path.join(po, "xgettext-args"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def potfiles():
    with open(os.path.join(po, "POTFILES.in"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def sources():
    out = []
    for top in ("cli", "core"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith(".c"):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def unquote(s):
    return bytes(s, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")


def read_pot(path):
    """(msgctxt, msgid) -> set of (file, line)."""
    entries = {}
    refs, ctxt, cur, field = [], None, None, None
    parts = {}

    def flush():
        if "msgid" in parts and parts["msgid"] != "":
            key = (parts.get("msgctxt"), parts["msgid"])
            entries.setdefault(key, set()).update(refs)

    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#:"):
                if "msgid" in parts:
                    flush()
                    parts, refs = {}, []
                for r in line[2:].split():
                    file, _, ln = r.rpartition(":")
                    refs.append((file, int(ln)))
            elif line.startswith("msgctxt ") or line.startswith("msgid ") or \
                    line.startswith("msgid_plural ") or line.startswith("msgstr"):
                key, _, rest = line.partition(" ")
                if key == "msgctxt" and "msgid" in parts:
                    flush()
                    parts, refs = {}, []
                field = key
                parts[field] = unquote(rest.strip()[1:-1])
            elif line.startswith('"') and field:
                parts[field] = parts.get(field, "") + unquote(line[1:-1])
            elif not line.strip():
                if "msgid" in parts:
                    flush()
                parts, refs, field = {}, [], None
    if "msgid" in parts:
        flush()
    return entries


SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|JOIN|CREATE|ALTER|DROP|BEGIN|"
                 r"COMMIT|ROLLBACK|COPY|SET|SHOW|LOCK|WITH|VALUES|CALL|RETURNING|ORDER BY|"
                 r"GROUP BY|LIMIT|CAST|COALESCE|EXISTS|DISTINCT|AND|OR|IN|ARRAY)\b|\$[0-9]|::|"
                 r"\b[a-z]\.[a-z_]+, [a-z]\.[a-z_]+")

# Literals that are no message, by file: what they are instead.
NOT_MESSAGES = {
    "core/workflow/wf_graph.c": "Graphviz DOT and Mermaid syntax",
    "core/audit/checkpoint.c": {"stpm-checkpoint 1": "the checkpoint file's format"},
    "core/audit/verify.c": {"out of range": "text the event's hash is computed from",
                            "does not verify": "a value of the trail's JSON"},
    "core/store/open.c": {"embedded database in": "the connection's description, a value of "
                          "db status (its JSON too)", "database %s on %s as %s": "the same",
                          "local socket": "the same"},
    "core/survey/import.c": {"the survey file has errors": "the reason a COPY is ended with",
                             "the import failed": "the same"},
}


def not_message(file, mid):
    what = NOT_MESSAGES.get(file)
    if isinstance(what, str):
        return True
    return bool(what) and any(mid.startswith(k) for k in what)


def prose(s):
    """English words a person reads: two words of letters or more."""
    if SQL.search(s) or re.search(r'"[a-z_]+": ', s):
        return False  # SQL, or a JSON document's keys
    if s.lstrip().startswith("#") or re.search(r"(^| )-?[a-z_]+=(%|'|[a-z]|$)", s):
        return False  # a configuration file's lines, connection keywords
    if s.startswith("stpm ") and "%" in s:
        return False  # a command line shown to be run
    if s.startswith("stpm ") and (re.search(r"\b[A-Z]{3,}\b|\[", s) or
                                  re.fullmatch(r"stpm( [a-z-]+)+", s)):
        return False  # a usage synopsis: command syntax
    if re.search(r"(^|\n)\s*[A-Za-z][a-z]+( [a-z]+)*:( |\n|$)", s):
        return True  # a label ("usage: ", "code:      %s")
    words = re.findall(r"(?<![%\\\w-])[A-Za-z][a-z']+(?![\w(])", s)
    return len(words) >= 2 and " " in s


def src_line(file, ln):
    try:
        with open(os.path.join(root, file), encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return ""
    # a literal spread over lines: its statement may carry the comment a line or two on
    return "".join(lines[max(0, ln - 3):ln + 2])


COMPARED = {"strcmp", "strncmp", "strstr", "strcasecmp", "has", "assert"}


def enclosing_call(file, ln, mid):
    """The function whose argument the literal on line ln is (None at statement level):
    a literal compared with strcmp, looked for with strstr, is not a message."""
    try:
        text = open(os.path.join(root, file), encoding="utf-8", errors="replace").read()
    except OSError:
        return None
    lines = text.split("\n")
    off = sum(len(l) + 1 for l in lines[:ln - 1])
    q = text.find('"' + mid[:12].split("\n")[0].replace('"', '\\"'), off)
    if q < 0:
        q = text.find('"', off)
    depth = 0
    i = q - 1
    while i > 0:
        c = text[i]
        if c == ")":
            depth += 1
        elif c == "(":
            if depth == 0:
                m = re.search(r"([A-Za-z_]\w*)\s*$", text[:i])
                return m.group(1) if m else None
            depth -= 1
        elif c in ";{}" and depth == 0:
            return None
        i -= 1
    return None


def table_names(file):
    """Literals of the arrays a file hands to cli_table_new (column names) and of its command
    tables' summaries, with their lines: they must be marked even as one word."""
    path = os.path.join(root, file)
    text = open(path, encoding="utf-8", errors="replace").read()
    found = []
    arrays = set()
    for m in re.finditer(r"cli_table_new\(\s*[^,]+,\s*([^)]*)\)", text):
        arrays.update(re.findall(r"\b([a-z_][a-z0-9_]*)\b", m.group(1)))
    for name in arrays:
        for m in re.finditer(r"\b" + name + r"\s*\[[^\]]*\]\s*=\s*\{(.*?)\};", text, re.S):
            for lit in re.finditer(r'(?:^|(?<=[{,])|(?<=[{,]\s)|(?<=\n))\s*"((?:[^"\\]|\\.)*)"',
                                   m.group(1)):
                ln = text.count("\n", 0, m.start(1) + lit.start(1)) + 1
                found.append((lit.group(1), ln, "table column"))
    for m in re.finditer(r'\{\s*"[a-z][a-z-]*"\s*,\s*[a-z_][a-z0-9_]*\s*,\s*"((?:[^"\\]|\\.)*)"',
                         text):
        ln = text.count("\n", 0, m.start(1)) + 1
        found.append((m.group(1), ln, "command summary"))
    return found


def main():
    listed, present = potfiles(), sources()
    missing = sorted(set(present) - set(listed))
    gone = sorted(f for f in listed if not os.path.exists(os.path.join(root, f)))
    tap(not missing and not gone, "po/POTFILES.in lists every source of cli/ and core/",
        [f"not listed: {f}" for f in missing] + [f"listed, not there: {f}" for f in gone])

    empty = []
    for f in present:
        for ln, line in enumerate(open(os.path.join(root, f), encoding="utf-8",
                                       errors="replace"), 1):
            if re.search(r'\b_\(""\)', line):
                empty.append(f"{f}:{ln}: {line.strip()}")
    tap(not empty, 'no _("") (gettext returns the catalog\'s header for it)', empty)

    with tempfile.TemporaryDirectory() as tmp:
        marked_pot = os.path.join(tmp, "marked.pot")
        all_pot = os.path.join(tmp, "all.pot")
        base = ["xgettext", "--package-name=stpm", "-D", root, "-f",
                os.path.join(po, "POTFILES.in")]
        r1 = subprocess.run(base + ["-o", marked_pot] + xgettext_args(),
                            capture_output=True, text=True)
        r2 = subprocess.run(base + ["-o", all_pot, "-a", "--from-code=UTF-8"],
                            capture_output=True, text=True)
        if r1.returncode or r2.returncode:
            tap(False, "xgettext extracts the strings", [r1.stderr, r2.stderr])
            return
        marked = read_pot(marked_pot)
        every = read_pot(all_pot)
        marked_at = {}
        for (ctx, mid), refs in marked.items():
            for r in refs:
                marked_at.setdefault(r, set()).add(mid)
        problems = []
        for (ctx, mid), refs in sorted(every.items(), key=lambda e: sorted(e[1])[0]):
            if not prose(mid):
                continue
            for file, ln in sorted(refs):
                if mid in marked_at.get((file, ln), ()):
                    continue
                if ("i18n-ok" in src_line(file, ln) or enclosing_call(file, ln, mid) in COMPARED
                        or not_message(file, mid)):
                    continue
                problems.append(f"{file}:{ln}: \"{mid[:70]!r}\"")
        for file in present:
            for mid, ln, what in table_names(file):
                if mid in marked_at.get((file, ln), ()) or not mid or "i18n-ok" in src_line(file, ln):
                    continue
                problems.append(f"{file}:{ln}: {what} \"{mid[:70]}\"")
        tap(not problems, "every user-facing string of cli/ and core/ is marked for translation",
            problems[:5000] + ([f"... and {len(problems) - 5000} more"] if len(problems) > 5000 else [])
            + ([f"{len(problems)} unmarked strings"] if problems else []))

        for lang in open(os.path.join(po, "LINGUAS")).read().split():
            pofile = os.path.join(po, lang + ".po")
            merged = os.path.join(tmp, lang + ".po")
            r = subprocess.run(["msgmerge", "-q", "--no-fuzzy-matching", "-o", merged, pofile,
                                marked_pot], capture_output=True, text=True)
            if r.returncode:
                tap(False, f"po/{lang}.po merges with the sources' strings", [r.stderr])
                continue
            for label, path in ((f"po/{lang}.po", pofile),
                                (f"po/{lang}.po with the sources' strings now", merged)):
                r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, path],
                                   capture_output=True, text=True)
                stats = r.stderr.strip()
                bad = r.returncode != 0 or "untranslated" in stats or "fuzzy" in stats
                tap(not bad, f"{label}: msgfmt --check --statistics: 0 untranslated, 0 fuzzy",
                    [stats])
                if path == merged and bad:
                    u = subprocess.run(["msgattrib", "--untranslated", "--no-obsolete", path],
                                       capture_output=True, text=True).stdout
                    ids = re.findall(r'^#: (.*)$', u, re.M)
                    for ref in ids[:40]:
                        print("#   untranslated at " + ref)
                    if len(ids) > 40:
                        print(f"#   ... and {len(ids) - 40} more")


main()
print(f"1..{n}")
sys.exit(1 if failed else 0)
