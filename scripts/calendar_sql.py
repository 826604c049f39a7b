#!/usr/bin/env python3
"""Print the INSERT of stpm.calendar_shipped from a calendar file (data/calendar/cn.yaml).

usage: calendar_sql.py data/calendar/cn.yaml > rows.sql

It reads the subset of YAML the calendar format uses (docs/calendar.md): year keys, the
lists `holidays` and `workdays`, items `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`, comments.
The rows went into migrations/071_expr.sql; tests/unit/test_expr_server.c checks that the
table holds exactly the days of stpm_calendar_new_default, so a change of the shipped data
needs a new migration made with this script.
"""
import datetime
import re
import sys


def days(item):
    m = re.fullmatch(r'(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?', item)
    if not m:
        sys.exit('calendar_sql.py: cannot read item %r' % item)
    first = datetime.date.fromisoformat(m.group(1))
    last = datetime.date.fromisoformat(m.group(2) or m.group(1))
    while first <= last:
        yield first
        first += datetime.timedelta(days=1)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2])
    out = {}
    section = None
    for raw in open(sys.argv[1], encoding='utf-8'):
        line = raw.split('#', 1)[0].rstrip()
        if not line.strip():
            continue
        if re.fullmatch(r'\d{4}:', line):
            section = None
        elif re.fullmatch(r'\s+(holidays|workdays):', line):
            section = line.strip()[:-1]
        elif re.fullmatch(r'\s+(holidays|workdays): \[\]', line):
            section = None
        elif re.fullmatch(r'\s+provisional: (true|false)', line):
            section = None
        elif re.fullmatch(r'\s+- \S+', line) and section:
            for d in days(line.strip()[2:]):
                kind = section == 'workdays'
                if out.get(d, kind) != kind:
                    sys.exit('calendar_sql.py: %s is both a holiday and a working day' % d)
                out[d] = kind
        else:
            sys.exit('calendar_sql.py: cannot read line %r' % raw)
    rows = ["    ('%s', %s)" % (d.isoformat(), 'true' if w else 'false')
            for d, w in sorted(out.items())]
    print('INSERT INTO stpm.calendar_shipped (day, workday) VALUES')
    print(',\n'.join(rows) + ';')


main()
