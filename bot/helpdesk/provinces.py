"""Province codes of the 12-digit personal ID number (số định danh cá nhân).

The first three digits are the code of the province where the birth was registered, from the list of
63 provinces in Thông tư 07/2016/TT-BCA (codes 001–096, with gaps). Since 1 July 2025 there are 34
provinces (Nghị quyết 202/2025/QH15), but numbers already issued keep their codes, so every one of the 63
codes stays valid. `MERGED_INTO` names the present province each old code now belongs to.
"""

from __future__ import annotations

# code -> province name at the time the code was assigned
PROVINCES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}  # fmt: skip

# The 34 provinces since 1/7/2025: each present province and the old codes it took in.
_PRESENT: dict[str, tuple[str, ...]] = {
    "Hà Nội": ("001",), "Huế": ("046",), "Lai Châu": ("012",), "Điện Biên": ("011",), "Sơn La": ("014",),
    "Lạng Sơn": ("020",), "Quảng Ninh": ("022",), "Thanh Hóa": ("038",), "Nghệ An": ("040",),
    "Hà Tĩnh": ("042",), "Cao Bằng": ("004",),
    "Tuyên Quang": ("008", "002"), "Lào Cai": ("010", "015"), "Thái Nguyên": ("019", "006"),
    "Phú Thọ": ("025", "026", "017"), "Bắc Ninh": ("027", "024"), "Hưng Yên": ("033", "034"),
    "Hải Phòng": ("031", "030"), "Ninh Bình": ("037", "035", "036"), "Quảng Trị": ("045", "044"),
    "Đà Nẵng": ("048", "049"), "Quảng Ngãi": ("051", "062"), "Gia Lai": ("064", "052"),
    "Khánh Hòa": ("056", "058"), "Lâm Đồng": ("068", "067", "060"), "Đắk Lắk": ("066", "054"),
    "Hồ Chí Minh": ("079", "074", "077"), "Đồng Nai": ("075", "070"), "Tây Ninh": ("072", "080"),
    "Cần Thơ": ("092", "094", "093"), "Vĩnh Long": ("086", "083", "084"), "Đồng Tháp": ("087", "082"),
    "Cà Mau": ("096", "095"), "An Giang": ("089", "091"),
}  # fmt: skip

MERGED_INTO: dict[str, str] = {code: present for present, codes in _PRESENT.items() for code in codes}
