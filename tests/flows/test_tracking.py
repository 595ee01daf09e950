"""The flows' own MLflow set-up: the git commit a training run records."""

from __future__ import annotations

from flows import tracking
from flows.tracking import git_commit


class _Done:
    def __init__(self, returncode: int, stdout: str):
        self.returncode, self.stdout = returncode, stdout


def test_git_commit_clean_dirty_and_outside_repo(monkeypatch):
    # git itself is faked: these tests must not run git in the working tree.
    def fake(status_out: str, head_rc: int = 0):
        def run(args, **kwargs):
            if args[1] == "rev-parse":
                return _Done(head_rc, "abc123\n" if head_rc == 0 else "")
            assert "--untracked-files=no" in args
            return _Done(0, status_out)

        return run

    monkeypatch.setattr(tracking.subprocess, "run", fake(""))
    assert git_commit() == "abc123"
    monkeypatch.setattr(tracking.subprocess, "run", fake(" M src/x.py\n"))
    assert git_commit() == "abc123-dirty"
    monkeypatch.setattr(tracking.subprocess, "run", fake("", head_rc=128))
    assert git_commit() is None

    def no_git(args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(tracking.subprocess, "run", no_git)
    assert git_commit() is None
