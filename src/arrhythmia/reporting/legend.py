"""What the page calls each beat class and rhythm, and the colour it draws each in; one
home, so the tables, the overview plots and the strips agree."""

from __future__ import annotations

from arrhythmia.rhythm.episodes import PRIORITY, SINUS

CLASS_NAMES: dict[str, str] = {
    "N": "Normal",
    "S": "Supraventricular ectopic",
    "V": "Ventricular ectopic",
    "F": "Fusion",
    "Q": "Unclassifiable",
}
# Dark enough to read as letters on the pink ECG grid.
CLASS_COLORS: dict[str, str] = {
    "N": "#37474f",
    "S": "#1565c0",
    "V": "#c62828",
    "F": "#6a1b9a",
    "Q": "#e65100",
}
ECTOPIC_CLASSES = ("S", "V", "F")

# MITDB's rhythm aux notes; the ones our rules never emit are named too, for other sources.
RHYTHM_NAMES: dict[str, str] = {
    "N": "Sinus rhythm",
    "SBR": "Sinus bradycardia",
    "AFIB": "Atrial fibrillation",
    "AFL": "Atrial flutter",
    "SVTA": "Supraventricular tachyarrhythmia",
    "VT": "Ventricular tachycardia",
    "VFL": "Ventricular flutter / fibrillation",
    "B": "Ventricular bigeminy",
    "T": "Ventricular trigeminy",
    "AB": "Atrial bigeminy",
    "IVR": "Idioventricular rhythm",
    "NOD": "Nodal (junctional) rhythm",
    "P": "Paced rhythm",
    "PREX": "Pre-excitation (WPW)",
    "BII": "2nd degree heart block",
    "NOISE": "Noise (unreadable)",
}
# Pale fills: rhythm bands sit behind beat marks and under the ECG grid's lines.
RHYTHM_COLORS: dict[str, str] = {
    "N": "#c8e6c9",
    "SBR": "#80cbc4",
    "AFIB": "#ffb74d",
    "AFL": "#ffe082",
    "SVTA": "#90caf9",
    "VT": "#ef9a9a",
    "VFL": "#e57373",
    "B": "#ce93d8",
    "T": "#e1bee7",
    "NOISE": "#bdbdbd",
}
OTHER_RHYTHM_COLOR = "#fff59d"
UNREADABLE_COLOR = "#9e9e9e"


def rhythm_name(rhythm: str) -> str:
    return RHYTHM_NAMES.get(rhythm, rhythm)


def rhythm_color(rhythm: str) -> str:
    return RHYTHM_COLORS.get(rhythm, OTHER_RHYTHM_COLOR)


def by_urgency(rhythms) -> list[str]:
    """Rhythms most urgent first (the episode rules' own priority, highest first), then
    those the rules do not know, sinus and noise last."""
    order = [r for r in reversed(PRIORITY) if r != "NOISE"]
    rank = {r: i for i, r in enumerate(order)}
    last = {SINUS: len(order) + 1, "NOISE": len(order) + 2}
    return sorted(set(rhythms), key=lambda r: (rank.get(r, last.get(r, len(order))), r))
