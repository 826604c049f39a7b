#!/usr/bin/env python3
"""Write docs/zh_CN/stpm.1, the Chinese manual page, from the program's own Chinese help.

    scripts/man_zh.py BUILD/cli/stpm > docs/zh_CN/stpm.1

The commands, subcommands, usage lines and options come from `stpm ... --help` under the
zh_CN.UTF-8 locale (the catalog po/zh_CN.po), so that the page says what the program says;
the other sections are written here. Run it again after a command or an option changes
(tests/cli/man.sh checks the page against the program as it does the English one). The
locale is the system's, else one made with localedef in BUILD/locale (as tests/cli/i18n.sh
does).
"""
import os
import re
import subprocess
import sys

stpm = os.path.abspath(sys.argv[1])
build = os.path.dirname(os.path.dirname(stpm))
env = dict(os.environ, LC_ALL="zh_CN.UTF-8")
env.pop("LANGUAGE", None)
if subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().find(
        "zh_cn.utf8") < 0:
    loc = os.path.join(build, "locale")
    if not os.path.exists(os.path.join(loc, "zh_CN.UTF-8", "LC_CTYPE")):
        os.makedirs(loc, exist_ok=True)
        subprocess.run(["localedef", "-i", "zh_CN", "-f", "UTF-8",
                        os.path.join(loc, "zh_CN.UTF-8")], check=True)
    env["LOCPATH"] = loc


def helptext(*args):
    r = subprocess.run([stpm, *args, "--help"], capture_output=True, text=True, env=env)
    return r.stdout or r.stderr


def esc(s):
    """Text for roff: backslashes, hyphens of options, a leading dot."""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + s if s[:1] in (".", "'") else s


def parse(text):
    """usage lines, summary paragraphs, [(left, help)] options, sub-list lines."""
    lines = text.split("\n")
    usage, summary, options = [], [], []
    i = 0
    if lines and lines[0].startswith("用法："):
        usage.append(lines[0][len("用法："):].strip())
        i = 1
        while i < len(lines) and lines[i].startswith(" ") and lines[i].strip():
            usage.append(lines[i].strip())
            i += 1
    para = []
    while i < len(lines):
        l = lines[i]
        if l.startswith("选项：") or l.startswith("全局选项："):
            break
        if l.strip():
            para.append(l)
        elif para:
            summary.append(para)
            para = []
        i += 1
    if para:
        summary.append(para)
    if i < len(lines) and lines[i].startswith("选项："):
        i += 1
        while i < len(lines) and lines[i].strip():
            m = re.match(r"^\s+((?:-\w, )?--\S+(?: \S+)?)\s{2,}(.*)$", lines[i])
            if m:
                options.append((m.group(1), m.group(2)))
            i += 1
    return usage, summary, options


def put_options(out, options):
    if not options:
        return
    out.append(".RS")
    for left, h in options:
        parts = left.split(", ")  # ["-n", "--dry-run"] or ["--reason R"]
        name, _, arg = parts[-1].partition(" ")
        shown = "\\fB" + esc(parts[0]) + "\\fR, " if len(parts) > 1 else ""
        shown += "\\fB" + esc(name) + "\\fR"
        if arg:
            shown += " \\fI" + esc(arg) + "\\fR"
        out.append(".TP")
        out.append(shown)
        out.append(esc(h))
    out.append(".RE")


def cjk(c):
    return "\u2e80" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" or "\u3000" <= c <= "\u303f"


def joined(lines):
    """The lines of a help paragraph as one: no space where Chinese meets Chinese."""
    out = ""
    for l in (x.strip() for x in lines):
        if out and not (cjk(out[-1]) and cjk(l[:1])):
            out += " "
        out += l
    return out


def put_paragraphs(out, paras):
    for k, p in enumerate(paras):
        if k:
            out.append(".IP")
        out.append(esc(joined(p)))


def entry(out, usage, summary, options):
    out.append(".TP")
    out.append("\\fB" + esc(usage[0]) + "\\fR")
    for u in usage[1:]:
        out.append("\\fB" + esc(u) + "\\fR")
        out.append(".br")
    put_paragraphs(out, summary)
    put_options(out, options)


main = helptext()
commands = []
on = False
for l in main.split("\n"):
    if l.startswith("命令："):
        on = True
        continue
    if on:
        m = re.match(r"^  (\S+)\s+(.*)$", l)
        if not m:
            break
        commands.append((m.group(1), m.group(2)))

out = []
for name, summary in commands:
    title = summary.split("：")[0]
    out.append(".SS " + name + " \\(em " + esc(title))
    group = helptext(name)
    if group.startswith("用法：stpm %s SUBCOMMAND" % name):
        subs = re.findall(r"^  ([a-z]+)  ", group.split("子命令：", 1)[1], re.M)
        intro = parse(group)[1]
        if intro and not intro[0][0].startswith("子命令"):
            put_paragraphs(out, [p for p in intro if not p[0].startswith(("子命令", "“stpm"))])
            out.append(".PP")
        for sub in subs:
            h = helptext(name, sub)
            if h.startswith("用法：stpm %s %s SUBCOMMAND" % (name, sub)):
                for sub2 in re.findall(r"^  ([a-z]+)  ", h.split("子命令：", 1)[1], re.M):
                    entry(out, *parse(helptext(name, sub, sub2)))
            else:
                entry(out, *parse(h))
        continue
    usage, paras, options = parse(group)
    # a command that lists its subcommands in its own text (db)
    listed = [p for p in paras if p[0].startswith("子命令：")]
    if listed:
        entry(out, usage, [p for p in paras if not p[0].startswith("子命令：")], options)
        out.append(".RS")
        described = True
        for l in listed[0][1:]:
            m = re.match(r"^  ([a-z]+(?: \S+)*?)(?:\s{2,}|\s(?=\S*[^\x00-\x7f]))(.*)$", l)
            if m and not l.startswith("    "):
                out.append(".TP")
                out.append("\\fBstpm " + name + " " + esc(m.group(1).strip()) + "\\fR")
                out.append(esc(m.group(2).strip()))
                described = True
            elif l.strip() and l.startswith("    ") and not described:
                out.append(esc(l.strip()))
                described = True
            elif l.strip() and l.startswith("    "):
                out[-1] = esc(joined([out[-1], l.strip()]))  # a description's next line
            elif l.strip():
                out.append(".TP")
                out.append("\\fBstpm " + name + " " + esc(l.strip()) + "\\fR")
                described = False
        out.append(".RE")
        continue
    entry(out, usage, paras, options)

commands_roff = "\n".join(out)
page = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "man_zh.in"),
            encoding="utf-8").read()
page = page.replace("@COMMANDS@\n", commands_roff + "\n")


def breakable(line):
    """groff breaks no line of Chinese: an optional break point (\\:) after each Chinese
    character of running text."""
    return "".join(c + "\\:" if cjk(c) else c for c in line)


lines, ex = [], False
for l in page.split("\n"):
    if l.startswith(".EX"):
        ex = True
    elif l.startswith(".EE"):
        ex = False
    if not ex and not l.startswith(".\\\"") and not l.startswith(".TH"):
        l = breakable(l)
    lines.append(l)
sys.stdout.write("\n".join(lines))
