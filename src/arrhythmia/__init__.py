"""ECG arrhythmia diagnosis on MITDB: data, signal processing, a 1-D CNN and its evaluation."""

__version__ = "0.1.0"
