"""Timing of training steps after a warm-up, without host synchronisation while training.

The first steps of a trial are not representative: memory allocators warm up, cuDNN picks its
algorithms, torch.compile compiles. Throughput is therefore measured from the first divergence
check on (``DIVERGENCE_CHECK_EVERY`` steps, recorded as ``warmup_steps``) and only over training,
with evaluations paused out. On CUDA the segments are CUDA events, read once at the end (reading a
wall clock there would time the host's queueing, not the GPU's work); on the CPU, perf_counter.
"""

from __future__ import annotations

import time

import torch


class TrainingClock:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.start_step: int | None = None
        self.running = False
        self.segments: list[tuple[object, object]] = []
        self.opened: object | None = None

    @property
    def method(self) -> str:
        return "cuda events" if self.device.type == "cuda" else "perf_counter"

    def mark(self) -> object:
        if self.device.type == "cuda":
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def start(self, step: int) -> None:
        """Start timing after ``step`` steps (the warm-up); later calls do nothing."""
        if self.start_step is None:
            self.start_step = step
            self.resume()

    def resume(self) -> None:
        if self.start_step is not None and not self.running:
            self.opened, self.running = self.mark(), True

    def pause(self) -> None:
        if self.running:
            self.segments.append((self.opened, self.mark()))
            self.running = False

    def seconds(self) -> float:
        """Timed training seconds so far (waits for the GPU's queued work on CUDA)."""
        self.pause()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return sum(begin.elapsed_time(end) for begin, end in self.segments) / 1000
        return sum(end - begin for begin, end in self.segments)
