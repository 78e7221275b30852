"""Write examples/sales_ledger.xlsx: a sales team's ledger as people really keep it.

Why a script: an .xlsx is a zip of XML that cannot be reviewed in a diff, so the rows are
kept here in plain text and the committed workbook is regenerated from them
(`python examples/make_xlsx.py`). The sheet has a title row and a blank row above the
header, real Excel dates, no amount column (amount = Qty x Unit Price), multi-line
invoices, a credit note, a void line, a free sample, a cash sale without a customer id,
and a `Total` row at the bottom -- the expected results are in examples/README.md.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HEADER = ["Customer ID", "Customer Name", "Invoice Date", "Invoice No", "Product", "Qty", "Unit Price",
          "Region", "Channel", "Sales Rep"]

CUSTOMERS: dict[int | None, tuple[str, str, str, str]] = {
    # id: (name, region, channel, sales rep)
    1001: ("Bluebird Cafe", "North", "Direct", "Alice Wong"),
    1002: ("Copper Kettle Bistro", "North", "Direct", "Alice Wong"),
    1003: ("Daybreak Bakery", "South", "Distributor", "Ravi Kumar"),
    1004: ("Elm Street Office Park", "East", "Direct", "Maria Lopez"),
    1005: ("Fernwood Hotel", "West", "Direct", "Ravi Kumar"),
    1006: ("Granite Coworking", "East", "Online", "Maria Lopez"),
    1007: ("Harbor View Diner", "South", "Distributor", "Ravi Kumar"),
    1008: ("Ironwood Gym", "West", "Online", "Alice Wong"),
    1009: ("Juniper Books & Coffee", "North", "Online", "Maria Lopez"),
    1010: ("Keystone University Canteen", "East", "Direct", "Alice Wong"),
    1011: ("Lakeside Yoga Studio", "West", "Online", "Maria Lopez"),
    None: ("Cash sale", "South", "Counter", "Ravi Kumar"),
}

# (customer id, invoice date, invoice no, product, qty, unit price)
LINES: list[tuple[int | None, date, str, str, int, float]] = [
    (1001, date(2024, 1, 3), "INV-24001", "Espresso Beans 1kg", 10, 21.50),
    (1001, date(2024, 1, 3), "INV-24001", "Oat Milk 1L (case of 12)", 2, 26.40),
    (1002, date(2024, 1, 5), "INV-24002", "House Blend 1kg", 6, 18.75),
    (1003, date(2024, 1, 9), "INV-24003", "Espresso Beans 1kg", 20, 20.00),
    (1003, date(2024, 1, 9), "INV-24003", "Paper Cups 12oz (1000)", 3, 64.00),
    (1003, date(2024, 1, 9), "INV-24003", "Lids 12oz (1000)", 3, 38.50),
    (1004, date(2024, 1, 15), "INV-24004", "Office Brewer Rental (month)", 1, 120.00),
    (1004, date(2024, 1, 15), "INV-24004", "House Blend 1kg", 8, 18.75),
    (1005, date(2024, 1, 22), "INV-24005", "Espresso Beans 1kg", 15, 21.50),
    (1006, date(2024, 1, 29), "INV-24006", "Pod Variety Box (100)", 4, 42.00),
    (1001, date(2024, 2, 1), "INV-24007", "Espresso Beans 1kg", 12, 21.50),
    (1007, date(2024, 2, 6), "INV-24008", "House Blend 1kg", 10, 18.75),
    (1007, date(2024, 2, 6), "INV-24008", "Sugar Sticks (2000)", 1, 31.20),
    (1002, date(2024, 2, 8), "INV-24009", "House Blend 1kg", 6, 18.75),
    (1002, date(2024, 2, 8), "INV-24009", "Chai Concentrate 1L", 0, 9.80),
    (1008, date(2024, 2, 13), "INV-24010", "Protein Cold Brew (case of 24)", 3, 54.00),
    (1004, date(2024, 2, 15), "INV-24011", "Office Brewer Rental (month)", 1, 120.00),
    (1009, date(2024, 2, 19), "INV-24012", "Single Origin Sampler", 5, 16.90),
    (1005, date(2024, 2, 26), "INV-24013", "Espresso Beans 1kg", 15, 21.50),
    (1005, date(2024, 2, 26), "INV-24013", "Descaler (6-pack)", 1, 27.35),
    (1010, date(2024, 3, 4), "INV-24014", "House Blend 1kg", 40, 17.90),
    (1010, date(2024, 3, 4), "INV-24014", "Paper Cups 12oz (1000)", 5, 64.00),
    (1003, date(2024, 3, 7), "INV-24015", "Espresso Beans 1kg", 20, 20.00),
    (1006, date(2024, 3, 11), "INV-24016", "Pod Variety Box (100)", 4, 42.00),
    (1006, date(2024, 3, 14), "CN-24001", "Pod Variety Box (100) - damaged", -2, 42.00),
    (1004, date(2024, 3, 15), "INV-24017", "Office Brewer Rental (month)", 1, 120.00),
    (1001, date(2024, 3, 18), "INV-24018", "Espresso Beans 1kg", 10, 21.50),
    (1001, date(2024, 3, 18), "INV-24018", "Oat Milk 1L (case of 12)", 3, 26.40),
    (1011, date(2024, 3, 20), "INV-24019", "Sample: Matcha Powder 100g", 1, 0.00),
    (None, date(2024, 3, 22), "INV-24020", "House Blend 1kg", 2, 19.50),
    (1007, date(2024, 4, 2), "INV-24021", "House Blend 1kg", 12, 18.75),
    (1009, date(2024, 4, 8), "INV-24022", "Single Origin Sampler", 6, 16.90),
    (1009, date(2024, 4, 8), "INV-24022", "Pour-Over Filters (500)", 2, 12.60),
    (1005, date(2024, 4, 15), "INV-24023", "Espresso Beans 1kg", 18, 21.50),
    (1010, date(2024, 4, 22), "INV-24024", "House Blend 1kg", 40, 17.90),
    (1002, date(2024, 4, 29), "INV-24025", "House Blend 1kg", 6, 18.75),
    (1008, date(2024, 5, 6), "INV-24026", "Protein Cold Brew (case of 24)", 2, 54.00),
    (1003, date(2024, 5, 13), "INV-24027", "Espresso Beans 1kg", 25, 20.00),
    (1003, date(2024, 5, 13), "INV-24027", "Lids 12oz (1000)", 4, 38.50),
    (1004, date(2024, 5, 15), "INV-24028", "Office Brewer Rental (month)", 1, 120.00),
    (1001, date(2024, 5, 20), "INV-24029", "Espresso Beans 1kg", 14, 21.50),
    (1006, date(2024, 5, 27), "INV-24030", "Pod Variety Box (100)", 3, 42.00),
    (1010, date(2024, 6, 3), "INV-24031", "House Blend 1kg", 30, 17.90),
    (1005, date(2024, 6, 10), "INV-24032", "Espresso Beans 1kg", 15, 21.50),
    (1007, date(2024, 6, 17), "INV-24033", "House Blend 1kg", 10, 18.75),
    (1004, date(2024, 6, 17), "INV-24034", "Office Brewer Rental (month)", 1, 120.00),
    (1009, date(2024, 6, 24), "INV-24035", "Single Origin Sampler", 4, 16.90),
    (1001, date(2024, 6, 28), "INV-24036", "Espresso Beans 1kg", 10, 21.50),
]


def build(path: Path) -> None:
    """Write the workbook: title, blank row, header (row 3), the lines, then a Total row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Ledger"
    ws.append(["2024 Customer Sales Ledger"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(HEADER)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for cid, day, inv, product, qty, price in LINES:
        name, region, channel, rep = CUSTOMERS[cid]
        ws.append([cid, name, day, inv, product, qty, price, region, channel, rep])
        ws.cell(ws.max_row, 3).number_format = "yyyy-mm-dd"
        ws.cell(ws.max_row, 7).number_format = "#,##0.00"
    # People type the total by hand (no formula: a formula cell has no cached value until
    # Excel recalculates, and readers would see it empty).
    ws.append(["Total", None, None, None, None, sum(line[4] for line in LINES), None])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for col, width in zip("ABCDEFGHIJ", (12, 28, 13, 12, 32, 6, 11, 8, 12, 12)):
        ws.column_dimensions[col].width = width

    notes = wb.create_sheet("Notes")
    notes.append(["Prepared by the sales team for the quarterly review."])
    notes.append(["Prices exclude VAT. CN- numbers are credit notes."])
    wb.save(path)


if __name__ == "__main__":
    build(Path(__file__).with_name("sales_ledger.xlsx"))
