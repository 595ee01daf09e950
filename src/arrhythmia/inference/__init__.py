"""Inference: beat classification from a trained bundle, record-level prediction, the MLflow pyfunc."""
