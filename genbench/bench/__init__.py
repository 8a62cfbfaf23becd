"""``genbench bench``: training and sampling throughput of a suite's models, without a study.

For each distinct configuration of a suite (``plan``), at each batch size and ensemble size, one
measurement (``measure``) builds an ensemble of E members as the runner would and times
trial-steps/s through the real training step and loop and samples/s through evaluation's
``generate`` (CUDA events on a GPU). ``run`` turns the rows into bench.csv, with speedups over
E = 1 (``table``), and bench.png (``figure``), so a user sees where their hardware saturates before
choosing ``--ensemble`` or the size of a study. ``gpu_check`` is the short hardware check behind
``benchmarks/gpu_check.sh``.

This module imports nothing: the command line reads ``defaults`` without importing torch.
"""
