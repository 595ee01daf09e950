"""The Holter HTML page of a made-up record: one self-contained file, the summary's numbers
the JSON report's, strips on true-size ECG paper, and never a "nan", even for a record with
no beats or with one lead."""

import re
from dataclasses import replace

import numpy as np
import pytest

from arrhythmia.inference.outputs import diagnosis_json
from arrhythmia.reporting import render_holter
from arrhythmia.reporting.formatting import UNKNOWN, clock, duration, number, percent
from arrhythmia.reporting.holter import holter_html, strip_caption
from arrhythmia.reporting.overview import heart_rate_trend
from arrhythmia.reporting.strips import (
    LEFT_MM,
    MAX_STRIPS,
    MM_PER_S,
    STRIP_S,
    beat_examples,
    choose_strips,
)
from arrhythmia.rhythm.episodes import Episode
from tests.helpers import assert_no_nan_in_html
from tests.reporting.conftest import FS, made_up_diagnosis, spiky_signal

PT_PER_MM = 72 / 25.4


def _strip_svgs(html: str) -> list[str]:
    return re.findall(r'<figure class="strip">.*?(<svg.*?</svg>)', html, flags=re.S)


def _svg_size_mm(svg: str) -> tuple[float, float]:
    width, height = re.search(r'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    return float(width) / PT_PER_MM, float(height) / PT_PER_MM


def _class_count(html: str, code: str) -> str:
    row = re.search(rf'<tr id="beats-{code}">(.*?)</tr>', html, flags=re.S).group(1)
    return re.findall(r'<td class="num">([^<]*)</td>', row)[0]


def test_the_page_is_one_self_contained_file(tmp_path, made_up):
    d, signal, info = made_up
    path = render_holter(d, signal, info, tmp_path / "deep" / "made_up.html")
    html = path.read_text()
    assert path == tmp_path / "deep" / "made_up.html" and html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, flags=re.I)
    assert not re.search(r"<link|<script|@import|url\(\s*['\"]?https?:", html, flags=re.I)
    assert [p.name for p in path.parent.iterdir()] == ["made_up.html"]  # no temporary left


def test_the_summary_has_the_json_reports_beat_counts(made_up):
    d, signal, info = made_up
    html = holter_html(d, signal, info)
    counts = info["summary"]["beats_per_class"]
    assert sum(counts.values()) == len(d.samples) and all(counts.values())
    for code, n in counts.items():
        assert _class_count(html, code) == f"{n:,}"
    assert f"<td>Total beats</td><td>{len(d.samples):,}</td>" in html
    assert "Ventricular tachycardia" in html and "Ventricular bigeminy" in html


def test_strips_show_each_class_and_rhythm_on_true_size_paper(made_up):
    d, signal, info = made_up
    html = holter_html(d, signal, info)
    strips = choose_strips(d)
    kinds = {(s.kind, s.label) for s in strips}
    assert {("beat", c) for c in "NSVFQ"} <= kinds
    assert {("rhythm", r) for r in ("VT", "B", "NOISE")} <= kinds
    svgs = _strip_svgs(html)
    assert len(svgs) == len(strips) >= 1
    width, height = _svg_size_mm(svgs[0])
    assert width == pytest.approx(LEFT_MM + STRIP_S * MM_PER_S, abs=0.1)  # 25 mm/s
    assert height == pytest.approx(5 + 5 + 2 * 35 + 5, abs=0.1)  # two lead bands


def test_no_nan_anywhere(made_up):
    d, signal, info = made_up
    assert_no_nan_in_html(holter_html(d, signal, info))


def test_the_same_diagnosis_gives_the_same_bytes(made_up):
    d, signal, info = made_up
    assert holter_html(d, signal, info) == holter_html(d, signal, info)


def test_a_flat_record_without_beats(tmp_path):
    n = int(30 * FS)
    d = replace(
        made_up_diagnosis(samples=np.zeros(0, dtype=np.int64)), n_samples=n,
        episodes=[Episode("NOISE", 0, n)], unreadable=[(0, n)],
    )  # fmt: skip
    info = diagnosis_json(d, "tiny.pt", "tiny.npz")
    html = render_holter(d, np.zeros((n, 2)), info, tmp_path / "flat.html").read_text()
    assert_no_nan_in_html(html)
    assert all(_class_count(html, c) == "0" for c in "NSVFQ")
    assert "<td>Total beats</td><td>0</td>" in html
    assert f"<td>HR min / mean / max</td><td>{UNKNOWN} / {UNKNOWN} / {UNKNOWN} bpm</td>" in html
    assert "no readable beat-to-beat intervals" in html  # the trend says why it is empty
    assert len(_strip_svgs(html)) == 1  # the unreadable stretch itself, for the record


def test_a_record_without_episodes_or_strips_still_renders():
    d = replace(made_up_diagnosis(samples=np.zeros(0, dtype=np.int64)), episodes=[],
                unreadable=[])  # fmt: skip
    html = holter_html(d, np.zeros((d.n_samples, 2)), diagnosis_json(d, "m", None))
    assert_no_nan_in_html(html)
    assert "No strips" in html and "no rhythm episodes" in html


@pytest.mark.parametrize("shape", ["one column", "one dimension"])
def test_a_single_lead_record(shape):
    d = made_up_diagnosis(leads=("II",))
    signal = spiky_signal(d.samples, d.n_samples, 1)
    if shape == "one dimension":
        signal = signal[:, 0]
    html = holter_html(d, signal, diagnosis_json(d, "m", None))
    assert_no_nan_in_html(html)
    svgs = _strip_svgs(html)
    assert svgs and _svg_size_mm(svgs[0])[1] == pytest.approx(5 + 5 + 35 + 5, abs=0.1)


def test_a_signal_of_another_length_is_refused(made_up):
    d, signal, info = made_up
    with pytest.raises(ValueError, match="samples"):
        holter_html(d, signal[:-1], info)


def test_the_beat_example_is_the_most_confident_of_its_class(made_up):
    d, _, _ = made_up
    for strip in beat_examples(d):
        mine = np.flatnonzero(d.labels == strip.label)
        assert strip.beat == mine[0]  # the made-up record's first of each class is surest
        assert strip.start <= d.samples[strip.beat] < strip.stop


def test_a_q_given_by_the_noise_rule_is_not_called_a_confident_q(made_up):
    d, _, _ = made_up
    q = np.flatnonzero(d.labels == "Q")
    proba = d.proba.copy()
    proba[q[0]] = [0.05, 0.0, 0.5, 0.0, 0.45]  # the network said V; the noise rule said Q
    proba[q[1:]] = [0.2, 0.1, 0.2, 0.1, 0.4]  # the network said Q, less surely
    forced = replace(d, proba=proba)
    [example] = [s for s in beat_examples(forced) if s.label == "Q"]
    assert example.beat == q[1]
    assert "the most confident Q beat (p = 0.40)" in strip_caption(forced, example)["detail"]

    proba[q] = [0.3, 0.1, 0.5, 0.05, 0.05]  # every Q by rule
    proba[q[-1]] = np.nan  # and one without any probability
    only_forced = replace(d, proba=proba)
    [example] = [s for s in beat_examples(only_forced) if s.label == "Q"]
    detail = strip_caption(only_forced, example)["detail"]
    assert "unclassified" in detail and "p =" not in detail and "confident" not in detail


def test_many_episodes_are_capped_with_every_rhythm_before_any_repeat():
    rhythms = ["VT", "AFIB", "SVTA", "B", "T", "SBR", "VFL", "NOISE"]
    step = int(10 * FS)
    episodes = [Episode(rhythms[i % len(rhythms)], i * step, (i + 1) * step) for i in range(60)]
    d = replace(made_up_diagnosis(), n_samples=60 * step, episodes=episodes)
    strips = choose_strips(d)
    assert len(strips) == MAX_STRIPS
    shown = [s.label for s in strips if s.kind == "rhythm"]
    assert set(shown) == set(rhythms)  # each rhythm once before any twice
    assert len(shown) == MAX_STRIPS - 5 > len(rhythms)
    assert shown.index("VFL") < shown.index("VT") < shown.index("NOISE")  # most urgent first


def test_the_trend_is_the_median_rate_and_breaks_where_unreadable(made_up):
    d, _, _ = made_up
    trend = heart_rate_trend(d)
    readable = trend.dropna()
    assert np.allclose(readable["median"], 75.0)  # a beat every 0.8 s
    assert readable.index.max() < 80 and trend.index.max() > 80


def test_formatting_never_says_nan():
    assert clock(3725) == "1:02:05" and clock(65.26, decimals=1) == "0:01:05.3"
    assert duration(4.24) == "4.2 s" and duration(3600) == "1:00:00"
    assert number(1234.5, "bpm") == "1,234 bpm" and percent(1, 2000) == "<0.1 %"
    for value in (None, float("nan"), float("inf")):
        assert clock(value) == duration(value) == number(value) == UNKNOWN
    assert percent(1, 0) == UNKNOWN
