"""The shared step loop (genbench.train.loop): window means and the exact divergent step."""

from __future__ import annotations

import torch

from genbench.train.loop import Divergence, WindowSignals, train_steps

CPU = torch.device("cpu")


def test_training_loop_reports_window_means_and_the_exact_divergent_step():
    values = iter([1.0, 3.0, 5.0, 7.0, float("nan"), 1.0, 1.0])

    def step() -> torch.Tensor:
        return torch.tensor([next(values)])

    events = list(train_steps(step, ("signal",), 7, {2, 4, 6}, CPU))
    assert events == [
        WindowSignals(step=2, values={"signal": 2.0}),
        WindowSignals(step=4, values={"signal": 6.0}),
        Divergence(step=5),
    ]
