"""Evaluation: EC57 statistics, confusion matrices, plots and reports."""
