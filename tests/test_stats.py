"""Holm's step-down correction (Holm 1979), shared by the report's pairwise tests and the check."""

from __future__ import annotations

import pytest

from genbench.stats import holm


def test_holm_multiplies_the_kth_smallest_p_by_m_minus_k_and_keeps_them_monotone():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> raised to 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_adjusted_p_values_at_one():
    assert holm([0.6, 0.7]) == [1.0, 1.0]
