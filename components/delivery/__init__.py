"""Delivery: the CI identity the pipeline's short-lived credentials come from."""
