"""Suites: YAML files that declare a whole study, validated and expanded into frozen trials.

A suite states the base trial (dataset, model, loss, optimizer, training, metrics, seed) and a
``grid`` whose keys are dotted paths into the trial (``loss``, ``optimizer``, ``seed``,
``model.params.hidden``); the cross product of the grid's lists gives the trials, in the order the
keys are written. Every value is checked against the registries and their parameter models before
anything trains, and every error names the file, the line and the key. Each trial is fully resolved
(defaults filled in) into a ``genbench.spec.Trial``, identified by a hash of its content.

The rooms: ``loader`` reads the file (lines, limits, errors) and resolves each trial, ``grid``
expands the grid and labels its values, ``checks`` cross-checks trials against the registries and
this machine. Nothing after this stage reads YAML. Torch-free.
"""

from genbench.suite.loader import load_suite
from genbench.suite.study import Suite

__all__ = ["Suite", "load_suite"]
