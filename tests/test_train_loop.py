"""The shared step loop (genbench.train.loop): window means and the exact divergent step."""

from __future__ import annotations

import torch

from genbench.train.loop import Divergence, WindowSignals, train_steps

CPU = torch.device("cpu")


def test_training_loop_reports_window_means_and_the_exact_divergent_step():
    values = iter([1.0, 3.0, 5.0, 7.0, float("nan"), 1.0, 1.0])

    def step() -> torch.Tensor:
        return torch.tensor([[next(values)]])

    events = list(train_steps(step, ("signal",), 1, 7, {2, 4, 6}, CPU))
    assert events == [
        WindowSignals(step=2, values=[{"signal": 2.0}]),
        WindowSignals(step=4, values=[{"signal": 6.0}]),
        Divergence(steps={0: 5}),
    ]


def test_a_diverged_member_stops_counting_while_the_others_train_on():
    rows = iter([[1.0, 1.0], [float("inf"), 3.0], [5.0, 5.0], [7.0, 7.0]])

    def step() -> torch.Tensor:
        return torch.tensor([[value] for value in next(rows)])

    events = list(train_steps(step, ("signal",), 2, 4, {2, 4}, CPU))
    assert events[0] == Divergence(steps={0: 2})
    assert events[1].step == 2 and events[1].values[1] == {"signal": 2.0}
    assert events[2] == WindowSignals(step=4, values=[{"signal": 6.0}, {"signal": 6.0}])
    assert len(events) == 3
