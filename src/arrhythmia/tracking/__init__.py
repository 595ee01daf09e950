"""Experiment tracking and model registry: MLflow setup, run metadata, the champion gate."""
