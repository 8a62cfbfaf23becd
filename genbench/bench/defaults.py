"""Defaults of ``genbench bench``, stated once for the command line and the library (torch-free,
so that ``genbench --help`` can show them without importing torch)."""

ENSEMBLE_SIZES = "1,8,32"
MAX_CONFIGS = 3
#: generator updates timed per measurement, after the untimed warm-up
STEPS = 50
#: untimed updates first: allocator growth, cuDNN autotuning, lazy initialisation, compilation
WARMUP_STEPS = 5
#: samples drawn per member when sampling is timed (one generation chunk of evaluation)
SAMPLES = 4096
