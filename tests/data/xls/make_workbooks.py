#!/usr/bin/python3
"""Write the Excel 97-2003 (.xls, BIFF8) test workbooks of tests/data/xls/ with xlwt.

The survey comes back from town offices as .xls too; stpm reads it through libfreexl
(core/survey/book.c). These workbooks are written by another writer than the project's
own: Debian's python3-xlwt (apt-get install python3-xlwt; run with /usr/bin/python3):

    /usr/bin/python3 tests/data/xls/make_workbooks.py SOURCE_ROOT

- survey.xls: the bureau's layout: a title merged over the columns, a subtitle with the
  date of the return (a date cell), a blank row, then the header in row 4 and four rows
  of docs/examples/survey-2020.csv, amounts as numbers, 是否高新技术企业 as booleans in
  two rows, a date in 备注; a second sheet "2021" (header in row 1) for --sheet.
- bad.xls: a title row, the header in row 2, five rows with three bad cells: a bad credit
  code in B4, a yes/no that is neither in L6, a negative amount in H7.

The output is the same on every run (xlwt writes no time stamp): run it again and git
shows no change.
"""
import datetime
import os
import sys

import xlwt

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from survey_example import HEADER, example_rows  # noqa: E402 (the shared rows, tests/data)



DATE = xlwt.easyxf(num_format_str='yyyy-mm-dd')
BOLD = xlwt.easyxf('font: bold on')
TITLE = xlwt.easyxf('font: bold on, height 320; align: horiz center')


def put_row(ws, row, cells, style=None):
    """row is 1-based, as the spreadsheet shows it; None leaves the cell out."""
    for c, v in enumerate(cells):
        if v is None:
            continue
        if isinstance(v, (datetime.date, datetime.datetime)):
            ws.write(row - 1, c, v, DATE)
        elif style is not None:
            ws.write(row - 1, c, v, style)
        else:
            ws.write(row - 1, c, v)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    here = os.path.join(root, 'tests/data/xls')
    data = example_rows(root)

    wb = xlwt.Workbook(encoding='utf-8')
    ws = wb.add_sheet('调研表')
    ws.write_merge(0, 0, 0, len(HEADER) - 1, '2020年科技项目调研表', TITLE)
    put_row(ws, 2, ['填报单位：如皋市科学技术局', None, None, None, None, None, None, None,
                    None, None, None, None, '填报日期：', datetime.date(2020, 10, 31)])
    put_row(ws, 4, HEADER, BOLD)
    d = [list(data[i]) for i in range(4)]
    d[0][11] = True
    d[1][11] = False
    d[2][14] = datetime.date(2020, 10, 30)
    for i, cells in enumerate(d):
        put_row(ws, 5 + i, cells)
    ws2 = wb.add_sheet('2021')
    put_row(ws2, 1, HEADER, BOLD)
    put_row(ws2, 2, data[5])
    wb.save(os.path.join(here, 'survey.xls'))

    wb = xlwt.Workbook(encoding='utf-8')
    ws = wb.add_sheet('Sheet1')
    put_row(ws, 1, ['2020年科技项目调研表'])
    put_row(ws, 2, HEADER, BOLD)
    d = [list(data[i]) for i in range(5)]
    d[1][1] = '91320682MA1KK5MQ2X'
    d[3][11] = '也许'
    d[4][7] = -5
    for i, cells in enumerate(d):
        put_row(ws, 3 + i, cells)
    wb.save(os.path.join(here, 'bad.xls'))


if __name__ == '__main__':
    main()
