import numpy as np
import pytest

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.signal.filters import normalise_amplitude, remove_noise

FS = 360.0


def _filter(x, p):
    q = p.preprocess
    return remove_noise(
        x,
        FS,
        highpass_hz=q.highpass_hz,
        lowpass_hz=q.lowpass_hz,
        powerline_hz=q.powerline_hz,
        notch_quality=q.notch_quality,
        order=q.filter_order,
    )


@pytest.mark.parametrize("freq", [0.1, 0.2, 60.0, 100.0])
def test_out_of_band_sinusoid_is_removed(params, freq):
    t = np.arange(int(30 * FS)) / FS
    sinus = np.sin(2 * np.pi * freq * t)
    out = _filter(sinus, params)
    middle = slice(int(5 * FS), int(25 * FS))  # away from the filter's edge transients
    assert np.sqrt(np.mean(out[middle] ** 2)) < 0.05 * np.sqrt(np.mean(sinus[middle] ** 2))


def test_in_band_sinusoid_is_kept(params):
    t = np.arange(int(30 * FS)) / FS
    sinus = np.sin(2 * np.pi * 10.0 * t)
    out = _filter(sinus, params)
    middle = slice(int(5 * FS), int(25 * FS))
    np.testing.assert_allclose(out[middle], sinus[middle], atol=0.05)


def test_qrs_kept_and_not_shifted_with_wander_and_mains_added(params, excerpt_dir):
    ecg = read_ecg(excerpt_dir / "100")
    beats = read_beats(excerpt_dir / "100")
    clean = _filter(ecg.signal[:, 0], params)
    t = np.arange(len(clean)) / FS
    noisy = ecg.signal[:, 0] + 0.5 * np.sin(2 * np.pi * 0.15 * t) + 0.2 * np.sin(2 * np.pi * 60 * t)
    filtered = _filter(noisy, params)
    half = int(0.05 * FS)
    inner = beats.sample[(beats.sample > FS) & (beats.sample < len(clean) - FS)]
    for s in inner:
        segment = slice(s - half, s + half)
        # R peak stays at the annotated sample (zero phase) and keeps its amplitude.
        assert abs(np.argmax(filtered[segment]) - np.argmax(clean[segment])) <= 1
        assert np.ptp(filtered[segment]) == pytest.approx(np.ptp(clean[segment]), rel=0.1)
    raw_qrs = np.ptp(ecg.signal[inner[0] - half : inner[0] + half, 0])
    assert np.ptp(clean[inner[0] - half : inner[0] + half]) > 0.7 * raw_qrs


def test_filter_rejects_lowpass_above_nyquist():
    with pytest.raises(ValueError, match="Nyquist"):
        remove_noise(
            np.zeros(1000), 100.0, highpass_hz=0.5, lowpass_hz=60.0, powerline_hz=60.0,
            notch_quality=30.0, order=4,
        )  # fmt: skip


def test_normalise_amplitude_makes_median_qrs_unit(excerpt_dir):
    ecg = read_ecg(excerpt_dir / "119")
    beats = read_beats(excerpt_dir / "119")
    scaled = normalise_amplitude(3.7 * ecg.signal, beats.sample, FS)
    reference = normalise_amplitude(ecg.signal, beats.sample, FS)
    np.testing.assert_allclose(scaled, reference, rtol=1e-9)  # gain-invariant
    half = int(0.06 * FS)
    amplitudes = [np.ptp(scaled[s - half : s + half + 1, 0]) for s in beats.sample[1:-1]]
    assert np.median(amplitudes) == pytest.approx(1.0, rel=0.05)
