"""Metrics: registered functions of (generated, reference) samples, and training signals."""
