"""Atomic writes: whole files with the permissions of any new file, or the old file."""

from __future__ import annotations

import os
import stat

import pytest

from arrhythmia import atomic
from arrhythmia.atomic import atomic_path, write_json, write_text


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_a_new_file_gets(tmp_path, monkeypatch, umask, mode):
    monkeypatch.setattr(atomic, "_UMASK", umask)  # the umask is read once, at import
    old = os.umask(umask)
    try:
        write_text(tmp_path / "a.txt", "hello\n")
        write_json(tmp_path / "sub" / "b.json", {"b": 1})
        (tmp_path / "plain.txt").write_text("a file made the ordinary way")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "sub" / "b.json").stat().st_mode) == mode


def test_the_umask_read_at_import_is_the_process_umask():
    current = os.umask(0o022)
    os.umask(current)
    assert atomic._UMASK == current


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"old": True})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"half": ')
        raise RuntimeError("interrupted")
    assert target.read_text() == '{\n  "old": true\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_the_new_file_is_flushed_before_it_replaces_the_old(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (synced.append("replace"), real_replace(a, b)))
    write_text(tmp_path / "x.txt", "x")
    assert synced[:2] == ["fsync", "replace"]
