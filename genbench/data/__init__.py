"""Datasets: samplers of real data that know their true modes when they have them."""
