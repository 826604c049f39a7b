#!/usr/bin/env python3
"""Turn a survey CSV (tests/bench/gen_survey's) into an .xlsx as Excel writes it: every
text in the shared strings, numbers as numbers, the sheet streamed into the zip.

    python3 tests/bench/csv2xlsx.py survey.csv survey.xlsx

For the import benchmark (docs/survey.md, "Memory and speed"): the same rows as CSV and as
a workbook, side by side."""
import csv
import re
import sys
import zipfile
from xml.sax.saxutils import escape

NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
RNS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
NUM = re.compile(r'^[0-9]+(\.[0-9]+)?$')


def col(i):
    s = ''
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def main(src, dst):
    strings, index = [], {}
    with zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as z:
        with z.open('xl/worksheets/sheet1.xml', 'w', force_zip64=True) as w:
            w.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}"><sheetData>'
                    .encode())
            with open(src, encoding='utf-8-sig', newline='') as f:
                for rn, row in enumerate(csv.reader(f), 1):
                    out = [f'<row r="{rn}">']
                    for ci, v in enumerate(row):
                        if v == '':
                            continue
                        ref = f'{col(ci)}{rn}'
                        if rn > 1 and NUM.match(v.replace(',', '')) and ci >= 7:
                            out.append(f'<c r="{ref}"><v>{v.replace(",", "")}</v></c>')
                        else:
                            if v not in index:
                                index[v] = len(strings)
                                strings.append(v)
                            out.append(f'<c r="{ref}" t="s"><v>{index[v]}</v></c>')
                    out.append('</row>')
                    w.write(''.join(out).encode())
            w.write(b'</sheetData></worksheet>')
        z.writestr('[Content_Types].xml', '<?xml version="1.0"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"/>')
        z.writestr('xl/workbook.xml', f'<?xml version="1.0"?><workbook xmlns="{NS}" '
                   f'xmlns:r="{RNS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
                   '</sheets></workbook>')
        z.writestr('xl/_rels/workbook.xml.rels', '<?xml version="1.0"?><Relationships xmlns='
                   '"http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{RNS}/worksheet" '
                   'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
                   f'Type="{RNS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        with z.open('xl/sharedStrings.xml', 'w', force_zip64=True) as w:
            w.write(f'<?xml version="1.0"?><sst xmlns="{NS}">'.encode())
            for s in strings:
                w.write(f'<si><t>{escape(s)}</t></si>'.encode())
            w.write(b'</sst>')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
