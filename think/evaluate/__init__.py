"""Evaluation: replay sets, grids of settings, reports, frontier, calibration, plots."""
