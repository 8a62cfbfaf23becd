"""The regression check: is a run still as good as its baseline, beyond seed noise?

``baseline`` is the file format (a run summarized cell by cell), ``protocol`` what a cell pins (the
trial spec without seed and subject), ``rule`` the decision (tolerance band and Welch/Holm),
``result`` its output and ``commands`` the ``genbench check`` and ``genbench compare`` commands.
The package exports nothing: callers import the module they need. Torch-free.
"""
