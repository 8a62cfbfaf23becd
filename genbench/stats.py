"""Statistics shared by reports and regression checks (torch-free, numpy only)."""

from __future__ import annotations

from collections.abc import Sequence


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979): the i-th smallest is multiplied by
    (m - i + 1) and the results made monotone, so rejecting where adjusted p < alpha controls the
    family-wise error rate at alpha for any dependence between the tests. scipy offers only
    false-discovery-rate control (``false_discovery_control``), hence this function."""
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [1.0] * count
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
