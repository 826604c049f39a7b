"""The rows of docs/examples/survey-2020.csv as the test workbooks hold them.

Shared by tests/data/xlsx/make_workbooks.py and tests/data/xls/make_workbooks.py: the
header of the bureau's survey, and each example row with its amounts as numbers (a
workbook stores numbers where the CSV has text) and empty cells as None.
"""
import csv
import os

HEADER = ['企业名称', '统一社会信用代码', '所属板块', '项目名称', '技术领域', '拟申报计划',
          '项目负责人', '预计总投入（万元）', '申请资助（万元）', '研发投入（万元）',
          '营业收入（万元）', '是否高新技术企业', '产学研合作单位', '技术成熟度', '备注']
AMOUNTS = (7, 8, 9, 10, 13)


def amount(v):
    """A CSV amount as a number where it is one (the workbook stores numbers)."""
    t = v.replace(',', '')
    try:
        return int(t)
    except ValueError:
        try:
            return float(t)
        except ValueError:
            return v or None


def example_rows(root):
    with open(os.path.join(root, 'docs/examples/survey-2020.csv'), encoding='utf-8-sig') as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER, rows[0]
    out = []
    for r in rows[1:]:
        cells = [c if c != '' else None for c in r]
        for i in AMOUNTS:
            cells[i] = amount(r[i]) if r[i] else None
        out.append(cells)
    return out
