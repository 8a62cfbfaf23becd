"""Training and evaluation of one trial. Knows nothing of YAML: it takes a resolved TrialSpec."""
