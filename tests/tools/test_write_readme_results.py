"""Writing the results section into the README: only the marked block changes."""

from pathlib import Path

import pytest

from tools.write_readme_results import RESULTS_END, RESULTS_START, main, update_readme

ROOT = Path(__file__).resolve().parents[2]


def test_update_readme_replaces_only_the_marked_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n{RESULTS_START}\nold table\n{RESULTS_END}\nafter\n")
    update_readme(readme, "| new | table |\n")
    text = readme.read_text()
    assert "old table" not in text and "| new | table |" in text
    assert text.startswith("# Title\n\nbefore\n") and text.endswith(f"{RESULTS_END}\nafter\n")
    update_readme(readme, "second\n")  # idempotent markers
    assert readme.read_text().count(RESULTS_START) == 1


def test_a_start_marker_naming_the_old_command_is_rewritten(tmp_path):
    readme = tmp_path / "README.md"
    old = "<!-- results:start (written by `arrhythmia results --readme README.md`) -->"
    readme.write_text(f"before\n{old}\nold table\n{RESULTS_END}\nafter\n")
    update_readme(readme, "new\n")
    assert readme.read_text() == f"before\n{RESULTS_START}\nnew\n{RESULTS_END}\nafter\n"


def test_update_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"no markers\n{RESULTS_END}\n")
    with pytest.raises(ValueError, match="markers"):
        update_readme(readme, "x")
    assert readme.read_text() == f"no markers\n{RESULTS_END}\n"


def test_the_project_readme_has_the_markers(tmp_path):
    copy = tmp_path / "README.md"
    copy.write_text((ROOT / "README.md").read_text())
    update_readme(copy, "x\n")
    assert f"{RESULTS_START}\nx\n{RESULTS_END}" in copy.read_text()


def test_without_metrics_it_is_one_line_and_the_readme_is_kept(project_dir, capsys):
    readme = project_dir / "README.md"
    readme.write_text(f"{RESULTS_START}\nold\n{RESULTS_END}\n")
    assert main([str(readme)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("write_readme_results: error: metrics/ds2.json: no metrics here")
    assert readme.read_text() == f"{RESULTS_START}\nold\n{RESULTS_END}\n"
