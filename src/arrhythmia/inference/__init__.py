"""Inference: the trained bundle, record-level prediction, the MLflow pyfunc."""
