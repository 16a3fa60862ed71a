"""The one formatter of times for people (``twin.units.seconds_text``): messages, limits and
the distribution editor's statistics read the same."""

import math

import pytest

from twin.units import seconds_text


@pytest.mark.parametrize(("seconds", "text"), [
    (10, "10 s"),
    (12.247448713915889, "12.25 s"),  # a fraction: four digits
    (60, "60 s = 1 min"),
    (7200, "7200 s = 2 h"),
    (172800, "172800 s = 48 h"),  # a whole number as the file holds it; hours up to 4 days
    (432000, "432000 s = 5 days"),  # was "1.25 days": divided by the four days it starts at
    (3.1536e8, "3.1536e+08 s = 3650 days"),
    (3.6e-9, "3.6e-09 s"),
    (-1, "-1 s"),
    (math.inf, "∞"),
])
def test_seconds_text(seconds, text):
    assert seconds_text(seconds) == text


def test_messages_and_limits_share_it():
    from twin import errors, limits

    assert errors.seconds_text is seconds_text  # the Qt-free half; the editor's: tests/app
    assert not hasattr(limits, "duration")
