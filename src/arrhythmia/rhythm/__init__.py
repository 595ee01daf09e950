"""Rhythm episodes (AF, VT, ventricular flutter, bigeminy, ...) from beats, labels and signal."""
