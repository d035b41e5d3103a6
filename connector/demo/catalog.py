"""The demo warehouse's master data: the firm, its 物流账册, the items and how the WMS counts them.

Everything here is invented but shaped like the real thing (DOMAIN.md §1.3, §1.8, §1.9): a zone
logistics ledger `T…W…` in 可累计 mode (one ledger line per 料号), customs unit codes, HS codes of
ten digits, and WMS units that convert to the declared unit with a Decimal factor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

BWS_NO = "T3111W000215"
CUSTOMS_DISTRICT = "3111"
COMPANY = {"sccd": "91330201MA2DEMO01X", "no": "3302D6A001", "name": "示例综保供应链有限公司"}
SEED = 20240815


@dataclass(frozen=True)
class DemoItem:
    """One SKU and the ledger line (商品序号) it is booked on."""

    sku: str
    name: str
    spec: str
    gdecd: str
    seqno: int
    mtno: str
    dcl_unit: str
    lawf_unit: str
    units: dict[str, Decimal] = field(hash=False)
    unit_price: Decimal = Decimal(1)  # USD per declared unit
    unit_weight: Decimal = Decimal(1)  # kg gross per declared unit
    lawf_factor: Decimal | None = None
    natcd: str = "116"

    def declared(self, qty: Decimal, uom: str) -> Decimal:
        """WMS quantity in the declared unit (dclUnitcd)."""
        return qty * self.units[uom]

    def legal(self, dcl_qty: Decimal) -> Decimal:
        return dcl_qty * (self.lawf_factor or Decimal(1))


def _d(text: str) -> Decimal:
    return Decimal(text)


ITEMS: tuple[DemoItem, ...] = (
    DemoItem("LAPTOP-14", "笔记本电脑", "14英寸|i7处理器|16GB内存|512GB", "8471300000", 1, "LT-1401",
             "001", "001", {"EA": _d("1")}, _d("520"), _d("2.3"), natcd="142"),
    DemoItem("SSD-1TB", "固态硬盘", "1TB|NVMe M.2|PCIe4.0", "8523511000", 2, "SSD-1T",
             "007", "007", {"EA": _d("1"), "CTN": _d("10")}, _d("48"), _d("0.06"), natcd="410"),
    DemoItem("CU-WIRE-25", "精炼铜丝", "直径2.5mm|铜含量99.95%|绕线盘装", "7408190000", 3, "CU-2.5",
             "035", "035", {"KG": _d("1"), "ROLL": _d("12.5")}, _d("9.6"), _d("1.02"), natcd="152"),
    DemoItem("MON-27", "液晶显示器", "27英寸|2560x1440|HDMI+DP", "8528521200", 4, "MON-27Q",
             "001", "001", {"EA": _d("1")}, _d("150"), _d("6.8"), natcd="410"),
    DemoItem("KBD-USB", "键盘", "USB有线|104键|薄膜", "8471607100", 5, "KBD-104",
             "007", "007", {"EA": _d("1"), "CTN": _d("20")}, _d("8.5"), _d("0.7"), natcd="142"),
    DemoItem("PHONE-X5", "智能手机", "5G|8GB+256GB|6.7英寸", "8517130000", 6, "PH-X5",
             "001", "001", {"EA": _d("1")}, _d("210"), _d("0.42"), natcd="410"),
    DemoItem("TONER-K", "碳粉盒", "黑色|激光打印机用|1.2kg装", "8443999090", 7, "TN-K",
             "007", "035", {"EA": _d("1"), "BOX": _d("4")}, _d("12"), _d("0.9"), lawf_factor=_d("0.85")),
)
UNMAPPED_SKU = "HDMI-CBL-2M"  # a new SKU the mapping does not know yet: its receipt is quarantined
BY_SKU = {item.sku: item for item in ITEMS}

# WMS movement types and what they mean for the ledger (written into mapping.toml).
MOVEMENT_TYPES = {
    "RCV": {"action": "increase", "direction": "I"},  # receipt from abroad into the zone
    "SHIP": {"action": "decrease", "direction": "E"},  # delivery out of the zone
    "XFER": {"action": "none"},  # internal transfer between locations
    "ADJ": {"action": "signed", "qty_sign": "any", "needs_list": False},  # stock-count adjustment
}
RACKS = ("A-01-02", "A-02-04", "B-01-01", "B-03-02", "C-02-03")
