"""Limits that guard against a typo turning into hours of work or an exhausted machine, in one
place so that the suite loader, the runner and the command line's defaults agree. Import-light:
the command line reads them before anything heavy is imported."""

#: trials one suite may expand to unless the user raises it (``--max-trials``): the default suite
#: has 60, a large study a few thousand; 10,000 still validates in seconds, while a grid with one
#: list too many (10^7) would take minutes and gigabytes to expand
DEFAULT_MAX_TRIALS = 10_000
