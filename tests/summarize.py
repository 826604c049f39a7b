#!/usr/bin/env python3
"""Count test points across meson test logs and print "N passed, N failed[, N skipped]".

Each TAP test contributes its points ("ok", "not ok", "# SKIP"); any other test counts as
one point by its result. A TAP test that failed without a failing point (a crash, a
timeout, a wrong plan) counts one failure more. Exits 1 when anything failed.
"""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path, encoding='utf-8') as f:
        for line in f:
            t = json.loads(line)
            result = t.get('result', '')
            out = t.get('stdout') or ''
            points = [l for l in out.splitlines() if re.match(r'^(not )?ok\b', l)]
            if t.get('protocol') == 'tap' or points:
                p = f_ = s = 0
                for l in points:
                    if re.search(r'#\s*(SKIP|skip)', l):
                        s += 1
                    elif l.startswith('not ok'):
                        if re.search(r'#\s*TODO', l):
                            s += 1
                        else:
                            f_ += 1
                    else:
                        p += 1
                if result not in ('OK', 'SKIP', 'EXPECTEDFAIL') and f_ == 0:
                    f_ += 1
                    print(f"{path}: {t.get('name')}: {result}", file=sys.stderr)
                if not points and result == 'SKIP':
                    s += 1
                passed, failed, skipped = passed + p, failed + f_, skipped + s
            else:
                if result in ('OK', 'EXPECTEDFAIL'):
                    passed += 1
                elif result == 'SKIP':
                    skipped += 1
                else:
                    failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
