"""Test and operations helpers: they start servers and browsers and write the README, so they
live beside tests/, benchmarks/ and .ci/ and are not installed with the `arrhythmia` library.
Import them from the project root (`python -m tools.<name>`, pytest, or a script that puts
the root on sys.path)."""
