"""Prefect flows: thin orchestration over the arrhythmia library, one flow per pipeline stage."""
