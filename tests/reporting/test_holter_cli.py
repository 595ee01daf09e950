"""`arrhythmia report RECORD` and `arrhythmia predict --report`: the page of a real excerpt
(MITDB 208, 30 s) diagnosed with the tiny model, its counts the JSON report's."""

import json
import re

from arrhythmia.cli import main


def _class_counts(html: str) -> dict[str, int]:
    rows = dict(re.findall(r'<tr id="beats-(\w)">.*?<td class="num">([\d,]+)</td>', html,
                           flags=re.S))  # fmt: skip
    return {c: int(n.replace(",", "")) for c, n in rows.items()}


def test_report_writes_the_page_and_says_where(tmp_path, excerpt_dir, model_args, capsys):
    out = tmp_path / "pages" / "208.html"
    assert main(["report", str(excerpt_dir / "208"), "--out", str(out), *model_args]) == 0
    assert capsys.readouterr().out.splitlines() == [f"report: wrote {out}"]
    html = out.read_text()
    assert "record 208" in html and "MLII, V1" in html and '<figure class="strip">' in html
    assert sum(_class_counts(html).values()) > 20


def test_report_defaults_to_record_name_here(tmp_path, excerpt_dir, model_args, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(excerpt_dir / "100"), *model_args]) == 0
    assert (tmp_path / "100.html").is_file()


def test_predict_with_report_writes_the_page_beside_the_json(
    tmp_path, excerpt_dir, model_args, capsys
):
    out = tmp_path / "out"
    args = ["predict", str(excerpt_dir / "208"), "--out", str(out), "--report", *model_args]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["208.cnn", "208.html", "208.json"]
    summary = json.loads((out / "208.json").read_text())["summary"]
    assert _class_counts((out / "208.html").read_text()) == summary["beats_per_class"]
    assert f"and {out / '208.html'}" in capsys.readouterr().out


def test_predict_without_report_writes_no_page(tmp_path, excerpt_dir, model_args):
    out = tmp_path / "out"
    assert main(["predict", str(excerpt_dir / "100"), "--out", str(out), *model_args]) == 0
    assert not (out / "100.html").exists()


def test_report_on_a_missing_record_is_one_line(tmp_path, model_args, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "nowhere" / "100"), "--out", str(out), *model_args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("arrhythmia report: error: ") and len(err.splitlines()) == 1
    assert "no such WFDB header" in err and not out.exists()
