"""Generators and discriminators, and loaders of pretrained generators."""
