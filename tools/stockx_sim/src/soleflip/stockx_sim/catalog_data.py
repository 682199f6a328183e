"""Static catalog material: anchor products every seed contains, and generator vocab."""

from __future__ import annotations

from typing import NamedTuple


class Spec(NamedTuple):
    """What a product is made from before ids, sizes and prices are drawn."""

    brand: str
    family: str  # size-chart family: nike, adidas, nb, asics
    model: str
    style: str | None
    colorway: str
    color: str
    retail: int
    release: str
    women: bool


# Combined style codes and near-miss style ids (DD1391-100 / DD1391-103) on purpose.
# fmt: off
ANCHORS: list[Spec] = [
    Spec("Nike", "nike", "Air Force 1 Low '07 White", "315122-111/CW2288-111", "White/White",
         "white", 110, "2007-01-01", False),
    Spec("Nike", "nike", "Dunk Low Retro White Black Panda", "DD1391-100", "White/Black-White",
         "white", 110, "2021-03-10", False),
    Spec("Nike", "nike", "Dunk Low Retro Grey Fog", "DD1391-103", "White/Grey Fog", "grey", 110,
         "2022-01-06", False),
    Spec("Nike", "nike", "Dunk Low Retro White Black (W)", "DD1503-101", "White/Black-White",
         "white", 110, "2021-03-10", True),
    Spec("Jordan", "nike", "Jordan 1 Retro High OG Chicago Lost and Found", "DZ5485-612",
         "Varsity Red/Black-Sail-Muslin", "red", 180, "2022-11-19", False),
    Spec("Jordan", "nike", "Jordan 4 Retro Black Cat (2020)", "CU1110-010",
         "Black/Black-Light Graphite", "black", 190, "2020-01-22", False),
    Spec("adidas", "adidas", "Yeezy Boost 350 V2 Zebra", "CP9654", "White/Core Black/Red",
         "white", 220, "2017-02-25", False),
    Spec("adidas", "adidas", "Samba OG Cloud White Core Black", "B75806",
         "Cloud White/Core Black/Clear Granite", "white", 100, "2018-01-01", False),
    Spec("New Balance", "nb", "550 White Green", "BB550WT1", "White/Green", "white", 110,
         "2021-01-01", False),
    Spec("New Balance", "nb", "990v6 Grey", "M990GL6", "Grey/Grey", "grey", 200, "2022-04-21",
         False),
    Spec("ASICS", "asics", "Gel-Kayano 14 White Midnight", "1201A019-107", "White/Midnight",
         "white", 150, "2022-06-01", False),
]

MODELS: dict[str, tuple[str, list[str]]] = {
    "Nike": ("nike", ["Dunk Low Retro", "Air Max 90", "Air Max 1", "Air Force 1 Low", "Dunk High"]),
    "Jordan": ("nike", ["Jordan 1 Retro High OG", "Jordan 4 Retro", "Jordan 11 Retro"]),
    "adidas": ("adidas", ["Yeezy Boost 350 V2", "Samba OG", "Gazelle Indoor", "Campus 00s"]),
    "New Balance": ("nb", ["550", "2002R", "990v6", "9060", "1906R"]),
    "ASICS": ("asics", ["Gel-Kayano 14", "Gel-1130", "Gel-NYC"]),
}
COLORWAYS = [
    ("Black White", "black"), ("University Blue", "blue"), ("Triple White", "white"),
    ("Sail Coconut Milk", "white"), ("Medium Olive", "green"), ("Bred", "red"),
    ("Cement Grey", "grey"), ("Sea Salt", "white"), ("Team Orange", "orange"),
    ("Midnight Navy", "blue"), ("Pure Silver", "silver"), ("Phantom", "white"),
]
# fmt: on
SEASONS = ["SS21", "FW21", "SS22", "FW22", "SS23", "FW23", "SS24", None]
