"""Retrieval benchmarks (PIAF, the shipped corpus): scripts run by hand, their numbers go in the README."""
