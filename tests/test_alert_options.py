"""The alerts widget's URL options: `max_lag` in range, `tiers` validated and bounded."""

from __future__ import annotations

import pytest

from fundboard.widgets.theme import MAX_TIERS_CHARS, parse_options


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "100:gold:coin,500:red:chime",
            [
                {"amount": "100", "colour": "#eab308", "sound": "coin", "duration": None},
                {"amount": "500", "colour": "#d1242f", "sound": "chime", "duration": None},
            ],
        ),
        (
            "50.5:#FF6600::12",
            [{"amount": "50.5", "colour": "#ff6600", "sound": None, "duration": 12.0}],
        ),
        ("250", [{"amount": "250", "colour": "", "sound": None, "duration": None}]),
        ("500::none", [{"amount": "500", "colour": "", "sound": "none", "duration": None}]),
    ],
)
def test_valid_tiers_reach_the_script_normalised(value, expected):
    assert parse_options({"tiers": value}).client_config()["tiers"] == expected


@pytest.mark.parametrize(
    "value",
    [
        "100:gold:boom",  # unknown sound
        "100:url(x):coin",  # not a colour
        "1e9:gold",  # not a plain amount
        "-5:gold",
        "100:gold:coin:999",  # duration out of range
        "100:gold:coin:5:extra",
        "1,2,3,4,5,6",  # more than five tiers
        "100:<script>",
        "1" * (MAX_TIERS_CHARS + 1),
    ],
)
def test_invalid_tiers_are_ignored_whole(value):
    options = parse_options({"tiers": value})
    assert options.tiers == "" and options.client_config()["tiers"] == []


def test_max_lag_is_bounded():
    assert parse_options({}).max_lag == 15.0
    assert parse_options({"max_lag": "30"}).client_config()["max_lag"] == 30.0
    for wrong in ("1", "301", "nan", "inf", "x"):
        assert parse_options({"max_lag": wrong}).max_lag == 15.0
