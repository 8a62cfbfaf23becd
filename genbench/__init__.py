"""genbench: a benchmark harness for generative models (GANs and VAEs).

The package is laid out along the one path data takes (see DESIGN.md):
suite -> trials -> runner -> train -> metrics -> store -> report / baseline.
Importing it is cheap: torch is imported only by the modules that train or evaluate.
"""

__version__ = "0.1.0"
