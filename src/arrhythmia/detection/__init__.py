"""QRS (beat) detection on raw ECG: candidates from every lead, a learned keep-or-drop."""
