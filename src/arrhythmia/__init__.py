"""ECG arrhythmia diagnosis on MITDB: data, signal processing, a 1-D CNN and its evaluation.

The version has one home, pyproject.toml: `importlib.metadata.version("arrhythmia")`.
"""
