#!/usr/bin/env python3
"""Write the test workbooks of tests/data/xlsx/ and docs/examples/survey-2020.xlsx.

Each workbook is written part by part (the XML of Office Open XML) and zipped, so that
every way a writer may store a cell is there on purpose: shared strings, inline strings
with rich-text runs and phonetic runs, cells without an r="" reference, rows left out,
merged title cells, booleans, dates as serial numbers in date formats (1900 system, with
Excel's 1900-02-29), numbers with binary noise, a formula's cached text.

    python3 tests/data/xlsx/make_workbooks.py SOURCE_ROOT

The output is deterministic (fixed zip timestamps): run it again and git shows no change.
"""
import os
import sys
import zipfile
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from survey_example import HEADER, example_rows  # noqa: E402 (the shared rows, tests/data)

NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
RNS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
PKG = 'http://schemas.openxmlformats.org/package/2006/relationships'



def col_name(i):
    s = ''
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


class Book:
    """Cells are (value, kind): kind 's' shared string, 'i' inline string, 'n' number,
    'b' boolean, 'd' a serial date (style 1), 'f' formula text (t="str"), None empty."""

    def __init__(self, inline=False):
        self.sheets = []
        self.inline = inline
        self.strings = []
        self.index = {}

    def sst(self, s):
        if s not in self.index:
            self.index[s] = len(self.strings)
            self.strings.append(s)
        return self.index[s]

    def add_sheet(self, name, rows, merges=(), refs=True):
        """rows: list of (row_number, [cells]); a cell is a value or (value, kind)."""
        self.sheets.append((name, rows, merges, refs))

    def cell_xml(self, ref, cell):
        if cell is None:
            return ''
        if not isinstance(cell, tuple):
            if isinstance(cell, bool):
                cell = (cell, 'b')
            elif isinstance(cell, (int, float)):
                cell = (cell, 'n')
            else:
                cell = (cell, 'i' if self.inline else 's')
        v, kind = cell
        r = f' r="{ref}"' if ref else ''
        if kind == 's':
            return f'<c{r} t="s"><v>{self.sst(v)}</v></c>'
        if kind == 'i':
            return f'<c{r} t="inlineStr"><is><t xml:space="preserve">{escape(v)}</t></is></c>'
        if kind == 'rich':  # rich text runs and a phonetic run that is not part of the text
            runs = ''.join(f'<r><rPr><b/></rPr><t>{escape(p)}</t></r>' for p in v)
            return f'<c{r} t="inlineStr"><is>{runs}<rPh sb="0" eb="1"><t>ピン</t></rPh></is></c>'
        if kind == 'b':
            return f'<c{r} t="b"><v>{1 if v else 0}</v></c>'
        if kind == 'd':
            return f'<c{r} s="1"><v>{v}</v></c>'
        if kind == 'f':
            return f'<c{r} t="str"><f>A1</f><v>{escape(v)}</v></c>'
        if kind == 'title':
            return f'<c{r} s="2" t="s"><v>{self.sst(v)}</v></c>'
        if kind == 'raw':  # the value exactly as a writer stored it
            return f'<c{r}><v>{v}</v></c>'
        return f'<c{r}><v>{repr(v) if isinstance(v, float) else v}</v></c>'

    def sheet_xml(self, rows, merges, refs):
        out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               f'<worksheet xmlns="{NS}" xmlns:r="{RNS}"><dimension ref="A1"/><sheetData>']
        for rn, cells in rows:
            out.append(f'<row r="{rn}">' if refs else '<row>')
            for ci, cell in enumerate(cells):
                out.append(self.cell_xml(f'{col_name(ci)}{rn}' if refs else None, cell)
                           if cell is not None or not refs else '')
                if cell is None and not refs:
                    out.append('<c/>')
            out.append('</row>')
        out.append('</sheetData>')
        if merges:
            out.append(f'<mergeCells count="{len(merges)}">')
            out += [f'<mergeCell ref="{m}"/>' for m in merges]
            out.append('</mergeCells>')
        out.append('</worksheet>')
        return ''.join(out)

    def save(self, path):
        sheet_parts = [self.sheet_xml(r, m, f) for _, r, m, f in self.sheets]
        n = len(self.sheets)
        ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
              'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
              '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
              'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
              + ''.join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType='
                        '"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                        'worksheet+xml"/>' for i in range(n))
              + '<Override PartName="/xl/styles.xml" ContentType="application/vnd.'
              'openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
              '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
              'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="http://schemas.'
                'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                'Target="xl/workbook.xml"/></Relationships>')
        # the sheets' relationship ids are not in order, as some writers do
        wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              f'<workbook xmlns="{NS}" xmlns:r="{RNS}"><workbookPr/><sheets>'
              + ''.join(f'<sheet name="{escape(s[0])}" sheetId="{i + 1}" r:id="rId{i + 10}"/>'
                        for i, s in enumerate(self.sheets))
              + '</sheets></workbook>')
        wbrels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  f'<Relationships xmlns="{PKG}">'
                  + ''.join(f'<Relationship Id="rId{i + 10}" Type="{RNS}/worksheet" '
                            f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n))
                  + f'<Relationship Id="rId1" Type="{RNS}/styles" Target="styles.xml"/>'
                  f'<Relationship Id="rId2" Type="{RNS}/sharedStrings" '
                  'Target="/xl/sharedStrings.xml"/></Relationships>')
        styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" '
                  'formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>'
                  '<fonts count="2"><font><sz val="11"/></font><font><b/><sz val="16"/></font>'
                  '</fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
                  '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>'
                  '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/>'
                  '<xf numFmtId="0" fontId="1"/></cellXfs></styleSheet>')
        sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               f'<sst xmlns="{NS}" count="{len(self.strings)}" '
               f'uniqueCount="{len(self.strings)}">'
               + ''.join(f'<si><t xml:space="preserve">{escape(s)}</t></si>'
                         for s in self.strings) + '</sst>')
        parts = [('[Content_Types].xml', ct), ('_rels/.rels', rels), ('xl/workbook.xml', wb),
                 ('xl/_rels/workbook.xml.rels', wbrels), ('xl/styles.xml', styles),
                 ('xl/sharedStrings.xml', sst)]
        parts += [(f'xl/worksheets/sheet{i + 1}.xml', x) for i, x in enumerate(sheet_parts)]
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
            for name, text in parts:
                info = zipfile.ZipInfo(name, date_time=(2020, 10, 31, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, text.encode('utf-8'))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    here = os.path.join(root, 'tests/data/xlsx')
    data = example_rows(root)

    # the bureau's layout: a merged title, the date of the return, the header, 51 rows
    b = Book()
    rows = [(1, [('2020年度科技项目调研汇总表', 'title')]),
            (2, ['填报单位：如皋市科学技术局', None, None, None, None, None, None, None, None,
                 None, None, None, '填报日期：', (44135, 'd')]),
            (3, HEADER)]
    rows += [(i + 4, cells) for i, cells in enumerate(data)]
    b.add_sheet('调研汇总', rows, merges=('A1:O1', 'A2:F2'))
    b.save(os.path.join(root, 'docs/examples/survey-2020.xlsx'))

    # shared strings, the header in row 1, a second sheet for --sheet
    b = Book()
    b.add_sheet('Sheet1', [(1, HEADER)] + [(i + 2, c) for i, c in enumerate(data[:3])])
    b.add_sheet('2021', [(1, HEADER)] + [(2, data[5])])
    b.save(os.path.join(here, 'shared.xlsx'))

    # inline strings, rich text with a phonetic run, cells and rows without r="", a row left
    # out, a formula's text
    b = Book(inline=True)
    r1 = list(data[0])
    r1[3] = (['全海深地质', '绞车系统工程化应用'], 'rich')
    r2 = list(data[1])
    r2[14] = ('见附件', 'f')
    b.add_sheet('Sheet1', [(1, HEADER), (2, r1), (5, r2)])
    b.sheets.append(('Sheet2', [(1, HEADER), (2, data[2])], (), False))
    b.save(os.path.join(here, 'inline.xlsx'))

    # a title row merged over the columns, a subtitle, a blank row, then the header
    b = Book()
    rows = [(1, [('2020年科技项目调研表', 'title')]),
            (2, ['（请于10月31日前报送）']),
            (4, HEADER)]
    rows += [(i + 5, c) for i, c in enumerate(data[:4])]
    b.add_sheet('调研表', rows, merges=('A1:O1', 'A2:O2'))
    b.save(os.path.join(here, 'title.xlsx'))

    # dates (1900 system, Excel's 1900-02-29), booleans, numbers with binary noise and in
    # scientific notation, sparse cells far to the right of nothing
    b = Book()
    d = [list(data[i]) for i in range(4)]
    d[0][11] = True
    d[0][14] = (44135, 'd')        # 2020-10-31
    d[1][11] = False
    d[1][14] = (60, 'd')           # 1900-02-29, the day Excel invented
    d[1][7] = (1234.5599999999999, 'raw')
    d[2][14] = (61.5, 'd')         # 1900-03-01 12:00
    d[2][7] = ('1.5E+3', 'raw')
    d[3][14] = (59, 'd')           # 1900-02-28
    b.add_sheet('Sheet1', [(1, HEADER)] + [(i + 2, c) for i, c in enumerate(d)])
    b.save(os.path.join(here, 'dates.xlsx'))

    # bad cells: a negative amount in H7, a bad credit code in B4, a yes/no that is neither
    b = Book()
    d = [list(data[i]) for i in range(5)]
    d[1][1] = '91320682MA1KK5MQ2X'
    d[4][7] = -5
    d[3][11] = '也许'
    b.add_sheet('Sheet1', [(1, ['2020年科技项目调研表']), (2, HEADER)] +
                [(i + 3, c) for i, c in enumerate(d)])
    b.save(os.path.join(here, 'bad.xlsx'))


if __name__ == '__main__':
    main()
