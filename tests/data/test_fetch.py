"""Unit tests for arrhythmia.data.fetch: mirror and loopback-HTTP sources, no real network."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from arrhythmia.data.fetch import (
    MIRROR_ENV,
    FetchError,
    fetch_database,
    fetch_file,
    load_checksums,
    packaged_checksums,
    resolve_source,
    sha256_of,
)
from arrhythmia.data.records import ALL_RECORDS, record_files

EXCERPT = Path(__file__).parent / "mitdb_excerpt"
TWO_RECORDS = record_files(["100", "119"])


# --- helpers -----------------------------------------------------------------------------


def excerpt_checksums() -> dict[str, str]:
    """Checksums of the fixture files: the trust anchor for these tests."""
    return {p.name: sha256_of(p) for p in sorted(EXCERPT.iterdir()) if p.is_file()}


def make_mirror(tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    shutil.copytree(EXCERPT, mirror)
    return mirror


def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(dest, staging, downloads) laid out as the pipeline does under data/."""
    data = tmp_path / "data"
    return data / "raw" / "mitdb", data / ".staging-mitdb", data / ".downloads"


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]] | None:
    """Every file under `folder` with its content and mtime; None if the folder is absent."""
    if not folder.exists():
        return None
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def seed_dest(dest: Path) -> None:
    """A valid file that must survive a failed run, and a corrupt one that must stay as is."""
    dest.mkdir(parents=True)
    shutil.copyfile(EXCERPT / "100.hea", dest / "100.hea")
    (dest / "119.hea").write_text("not a header\n")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@contextlib.contextmanager
def serve(
    files: dict[str, bytes], *, honour_range: bool = True, cut_first: bool = False
) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """A loopback HTTP server for `files`; yields (base URL, [(name, Range header)])."""
    requests: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            range_header = self.headers.get("Range")
            requests.append((name, range_header))
            body = files.get(name)
            if body is None:
                self.send_error(404)
                return
            start = 0
            if range_header and honour_range:
                start = int(re.fullmatch(r"bytes=(\d+)-", range_header).group(1))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if cut_first and len(requests) == 1:
                payload = payload[: len(payload) // 2]  # connection closes: body cut short
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/files/mitdb/1.0.0/", requests
    finally:
        server.shutdown()
        server.server_close()


def excerpt_bytes(names: list[str]) -> dict[str, bytes]:
    return {name: (EXCERPT / name).read_bytes() for name in names}


# --- mirror ------------------------------------------------------------------------------


def test_mirror_fetch_then_second_run_does_nothing(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    dest, staging, _ = layout(tmp_path)

    report = fetch_database(dest, str(mirror), TWO_RECORDS, excerpt_checksums(), progress=False)

    assert report.fetched == tuple(TWO_RECORDS)
    assert report.already_present == ()
    assert sorted(p.name for p in dest.iterdir()) == sorted(TWO_RECORDS)
    for name in TWO_RECORDS:
        assert (dest / name).read_bytes() == (EXCERPT / name).read_bytes()
    assert not staging.exists()

    before = snapshot(dest)
    # The mirror is gone: a second run must not need the source at all.
    shutil.rmtree(mirror)
    again = fetch_database(dest, str(mirror), TWO_RECORDS, excerpt_checksums(), progress=False)
    assert again.fetched == ()
    assert again.nothing_done
    assert again.already_present == tuple(TWO_RECORDS)
    assert snapshot(dest) == before


def test_invalid_file_in_dest_is_refetched(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    dest, _, _ = layout(tmp_path)
    seed_dest(dest)  # 100.hea valid, 119.hea corrupt

    report = fetch_database(dest, str(mirror), TWO_RECORDS, excerpt_checksums(), progress=False)

    assert "119.hea" in report.fetched
    assert report.already_present == ("100.hea",)
    assert (dest / "119.hea").read_bytes() == (EXCERPT / "119.hea").read_bytes()


def assert_failed_cleanly(
    tmp_path: Path, source: str, before: object, match: str, **kwargs: object
) -> FetchError:
    dest, staging, _ = layout(tmp_path)
    with pytest.raises(FetchError, match=match) as caught:
        fetch_database(dest, source, TWO_RECORDS, excerpt_checksums(), progress=False, **kwargs)
    assert snapshot(dest) == before, "a failed run changed the destination"
    assert not staging.exists(), "staging folder left behind"
    return caught.value


def test_corrupted_dat_in_mirror(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    data = bytearray((mirror / "119.dat").read_bytes())
    data[1000] ^= 0xFF
    (mirror / "119.dat").write_bytes(bytes(data))
    dest, _, _ = layout(tmp_path)
    seed_dest(dest)

    assert_failed_cleanly(tmp_path, str(mirror), snapshot(dest), r"119\.dat: checksum mismatch")


def test_truncated_dat_in_mirror(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    data = (mirror / "100.dat").read_bytes()
    (mirror / "100.dat").write_bytes(data[: len(data) // 2])
    dest, _, _ = layout(tmp_path)
    seed_dest(dest)

    error = assert_failed_cleanly(tmp_path, str(mirror), snapshot(dest), r"100\.dat: checksum")
    assert f"{len(data) // 2} bytes" in str(error)


def test_missing_atr_in_mirror(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    (mirror / "119.atr").unlink()
    dest, _, _ = layout(tmp_path)
    seed_dest(dest)

    error = assert_failed_cleanly(tmp_path, str(mirror), snapshot(dest), r"119\.atr: not found")
    assert str(mirror) in str(error)


def test_missing_atr_with_no_dest_does_not_create_dest(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    (mirror / "100.atr").unlink()

    assert_failed_cleanly(tmp_path, str(mirror), None, r"100\.atr: not found")


def test_header_with_wrong_sampling_rate_fails_checksum(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    header = (mirror / "100.hea").read_bytes()
    edited = header.replace(b"100 2 360 ", b"100 2 250 ", 1)
    assert edited != header
    (mirror / "100.hea").write_bytes(edited)

    assert_failed_cleanly(tmp_path, str(mirror), None, r"100\.hea: checksum mismatch")


def test_file_without_checksum_is_an_error(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    sums = excerpt_checksums()
    del sums["119.atr"]
    dest, _, _ = layout(tmp_path)
    with pytest.raises(FetchError, match=r"119\.atr: no SHA-256"):
        fetch_database(dest, str(mirror), TWO_RECORDS, sums, progress=False)
    assert not dest.exists()


def test_stale_staging_from_an_interrupted_run_is_cleared(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path)
    dest, staging, _ = layout(tmp_path)
    staging.mkdir(parents=True)
    (staging / "100.dat").write_bytes(b"half of something")

    fetch_database(dest, str(mirror), TWO_RECORDS, excerpt_checksums(), progress=False)

    assert (dest / "100.dat").read_bytes() == (EXCERPT / "100.dat").read_bytes()
    assert not staging.exists()


# --- HTTP --------------------------------------------------------------------------------


def test_unreachable_http_source_retries_with_growing_backoff(tmp_path: Path) -> None:
    dest, _, _ = layout(tmp_path)
    seed_dest(dest)
    sleep = SleepRecorder()
    url = f"http://127.0.0.1:{closed_port()}/files/mitdb/1.0.0/"

    error = assert_failed_cleanly(
        tmp_path, url, snapshot(dest), r"100\.dat: source unreachable after 3 attempts",
        retries=3, backoff_s=0.5, sleep=sleep, timeout_s=5.0,
    )  # fmt: skip

    assert sleep.calls == [0.5, 1.0]
    assert "refused" in str(error).lower()


def test_http_fetch_of_a_record(tmp_path: Path) -> None:
    dest, staging, downloads = layout(tmp_path)
    names = record_files(["100"])
    with serve(excerpt_bytes(names)) as (url, requests):
        report = fetch_database(dest, url, names, excerpt_checksums(), progress=False)

    assert report.fetched == tuple(names)
    for name in names:
        assert (dest / name).read_bytes() == (EXCERPT / name).read_bytes()
    assert sorted(name for name, _ in requests) == sorted(names)
    assert not staging.exists()
    assert list(downloads.iterdir()) == []  # completed downloads leave no .part behind


def test_http_404_fails_at_once(tmp_path: Path) -> None:
    dest, _, _ = layout(tmp_path)
    seed_dest(dest)
    sleep = SleepRecorder()
    files = excerpt_bytes(TWO_RECORDS)
    del files["119.atr"]
    with serve(files) as (url, _):
        assert_failed_cleanly(
            tmp_path, url, snapshot(dest), r"119\.atr: not found .*404", sleep=sleep
        )
    assert sleep.calls == []


def test_http_resume_with_range(tmp_path: Path) -> None:
    body = (EXCERPT / "100.dat").read_bytes()
    parts = tmp_path / "downloads"
    parts.mkdir()
    (parts / "100.dat.part").write_bytes(body[: len(body) // 2])
    target = tmp_path / "out" / "100.dat"

    with serve({"100.dat": body}) as (url, requests):
        fetch_file(url, "100.dat", target, sha256_of(EXCERPT / "100.dat"), partial_dir=parts)

    assert target.read_bytes() == body
    assert requests == [("100.dat", f"bytes={len(body) // 2}-")]
    assert not (parts / "100.dat.part").exists()


def test_http_server_ignoring_range_still_gives_the_right_file(tmp_path: Path) -> None:
    body = (EXCERPT / "100.dat").read_bytes()
    parts = tmp_path / "downloads"
    parts.mkdir()
    (parts / "100.dat.part").write_bytes(body[: len(body) // 3])
    target = tmp_path / "out" / "100.dat"

    with serve({"100.dat": body}, honour_range=False) as (url, requests):
        fetch_file(url, "100.dat", target, sha256_of(EXCERPT / "100.dat"), partial_dir=parts)

    assert target.read_bytes() == body
    assert requests[0][1] is not None  # we asked for a range; the 200 made us start over


def test_http_body_cut_short_is_resumed_on_retry(tmp_path: Path) -> None:
    body = (EXCERPT / "100.dat").read_bytes()
    sleep = SleepRecorder()
    target = tmp_path / "out" / "100.dat"

    with serve({"100.dat": body}, cut_first=True) as (url, requests):
        fetch_file(
            url, "100.dat", target, sha256_of(EXCERPT / "100.dat"),
            partial_dir=tmp_path / "downloads", sleep=sleep, backoff_s=0.1,
        )  # fmt: skip

    assert target.read_bytes() == body
    assert [r for _, r in requests] == [None, f"bytes={len(body) // 2}-"]
    assert sleep.calls == [0.1]


def test_http_stale_part_that_does_not_verify_is_downloaded_afresh(tmp_path: Path) -> None:
    body = (EXCERPT / "100.dat").read_bytes()
    parts = tmp_path / "downloads"
    parts.mkdir()
    (parts / "100.dat.part").write_bytes(b"\x00" * 100)  # not a prefix of the real file
    target = tmp_path / "out" / "100.dat"

    with serve({"100.dat": body}) as (url, requests):
        fetch_file(url, "100.dat", target, sha256_of(EXCERPT / "100.dat"), partial_dir=parts)

    assert target.read_bytes() == body
    assert [r for _, r in requests] == ["bytes=100-", None]


def test_http_corrupt_download_drops_the_part(tmp_path: Path) -> None:
    body = bytearray((EXCERPT / "100.dat").read_bytes())
    body[10] ^= 0xFF
    parts = tmp_path / "downloads"
    target = tmp_path / "out" / "100.dat"

    with serve({"100.dat": bytes(body)}) as (url, _):
        with pytest.raises(FetchError, match=r"100\.dat: checksum mismatch"):
            fetch_file(url, "100.dat", target, sha256_of(EXCERPT / "100.dat"), partial_dir=parts)

    assert not target.exists()
    assert not (parts / "100.dat.part").exists()


# --- source and checksums ----------------------------------------------------------------


URL = "https://physionet.org/files/mitdb/1.0.0/"


def test_resolve_source_mirror_folder(tmp_path: Path) -> None:
    assert resolve_source(URL, {MIRROR_ENV: str(tmp_path)}) == str(tmp_path.resolve())


def test_resolve_source_not_a_folder(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    with pytest.raises(FetchError, match=f"{MIRROR_ENV}.*not a directory"):
        resolve_source(URL, {MIRROR_ENV: str(not_a_dir)})
    with pytest.raises(FetchError, match="not a directory"):
        resolve_source(URL, {MIRROR_ENV: str(tmp_path / "missing")})


def test_resolve_source_unset_gives_url() -> None:
    assert resolve_source(URL, {}) == URL
    assert resolve_source(URL, {MIRROR_ENV: ""}) == URL


def test_packaged_checksums_cover_every_record_file() -> None:
    sums = packaged_checksums()
    files = record_files(ALL_RECORDS)
    assert len(files) == 144
    assert set(files) <= set(sums)
    assert sum(1 for name in sums if name in set(files)) == 144
    assert re.fullmatch(r"[0-9a-f]{64}", sums["100.dat"])


def test_load_checksums_formats(tmp_path: Path) -> None:
    a, b, c = "a" * 64, "B" * 64, "c" * 64
    text = f"# comment\n{a}  100.dat\n\n{b} 100.hea\r\n{c} *100.atr\n"
    expected = {"100.dat": a, "100.hea": b.lower(), "100.atr": c}
    assert load_checksums(text) == expected
    sums_file = tmp_path / "SHA256SUMS"
    sums_file.write_text(text)
    assert load_checksums(sums_file) == expected
    assert load_checksums(str(sums_file)) == expected
    with pytest.raises(ValueError, match="line 1"):
        load_checksums("nothex  100.dat\n")


def test_each_database_has_its_mirror_variable_and_one_root_serves_all(tmp_path: Path) -> None:
    (tmp_path / "mitdb").mkdir()
    (tmp_path / "svdb").mkdir()
    svdb_url = "https://physionet.org/files/svdb/1.0.0/"
    root = {"ARRHYTHMIA_MIRROR": str(tmp_path)}
    assert resolve_source(svdb_url, root, database="svdb") == str((tmp_path / "svdb").resolve())
    assert resolve_source(URL, root) == str((tmp_path / "mitdb").resolve())
    # a database's own variable wins over the root
    own = tmp_path / "elsewhere"
    own.mkdir()
    both = {**root, "ARRHYTHMIA_SVDB_MIRROR": str(own)}
    assert resolve_source(svdb_url, both, database="svdb") == str(own.resolve())
    # the MITDB variable does not serve SVDB
    assert resolve_source(svdb_url, {MIRROR_ENV: str(tmp_path)}, database="svdb") == svdb_url
    (tmp_path / "svdb").rmdir()
    with pytest.raises(FetchError, match="ARRHYTHMIA_MIRROR.*svdb.*not a directory"):
        resolve_source(svdb_url, root, database="svdb")


def test_packaged_svdb_checksums_cover_its_40_records() -> None:
    from arrhythmia.data.records import SVDB

    sums = packaged_checksums("svdb")
    files = record_files(SVDB)
    assert len(files) == 120 and set(files) <= set(sums)
    assert not set(record_files(ALL_RECORDS)) & set(sums)  # no MITDB file in SVDB's list
    with pytest.raises(FetchError, match="not one of the databases"):
        packaged_checksums("nstdb")


def test_the_svdb_mirror_verifies_against_the_packaged_checksums(
    tmp_path: Path, full_svdb_mirror: Path
) -> None:
    names = ["822.hea", "822.atr", "822.dat"]
    report = fetch_database(
        tmp_path / "svdb", str(full_svdb_mirror), names, packaged_checksums("svdb"),
        progress=False,
    )  # fmt: skip
    assert sorted(report.fetched) == sorted(names)


def test_packaged_cinc2017_lists_cover_its_2842_strips_with_labels() -> None:
    from arrhythmia.data.records import CINC2017_LABELS, cinc2017_files, cinc2017_reference

    labels = cinc2017_reference()
    assert len(labels) == 2842 and set(labels.values()) == set(CINC2017_LABELS)
    assert sum(label == "A" for label in labels.values()) == 228
    assert set(cinc2017_files()) == set(packaged_checksums("cinc2017"))


def test_physionet_keeps_challenge_recordings_in_subfolders() -> None:
    from arrhythmia.data.fetch import physionet_challenge_name

    assert physionet_challenge_name("A01234.mat") == "A01/A01234.mat"
    assert physionet_challenge_name("REFERENCE.csv") == "REFERENCE.csv"


def test_cinc2017_strips_verify_and_are_fetched_from_their_physionet_subfolder(
    tmp_path: Path,
) -> None:
    from arrhythmia.data.fetch import physionet_challenge_name

    folder = Path(__file__).parent / "cinc2017_excerpt"
    names = ["A00006.hea", "A00006.mat"]
    asked: list[str] = []

    def remote(name: str) -> str:
        asked.append(physionet_challenge_name(name))
        return asked[-1]

    files = {name: (folder / name).read_bytes() for name in names}
    with serve(files) as (url, requests):
        report = fetch_database(
            tmp_path / "cinc2017", url, names, packaged_checksums("cinc2017"),
            progress=False, remote_name=remote,
        )  # fmt: skip
    assert sorted(report.fetched) == names and asked == ["A00/A00006.hea", "A00/A00006.mat"]
    assert (tmp_path / "cinc2017" / "A00006.mat").read_bytes() == files["A00006.mat"]


@pytest.mark.parametrize("database", ["vfdb", "cudb"])
def test_packaged_rhythm_database_checksums_cover_their_records(database: str) -> None:
    from arrhythmia.data import records

    chosen = getattr(records, database.upper())
    assert len(chosen) == {"vfdb": 11, "cudb": 18}[database]
    assert set(packaged_checksums(database)) == set(record_files(chosen))


def test_a_vfdb_header_that_differs_from_the_packaged_one_is_refused(
    tmp_path: Path, full_vfdb_mirror: Path
) -> None:
    """Headers are checked byte for byte, as every other file: one that describes its
    signals otherwise (as PhysioNet's might) stops ingest and names the file."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    header = (full_vfdb_mirror / "418.hea").read_bytes()
    (mirror / "418.hea").write_bytes(header.replace(b" ECG\r\n", b" ECG lead\r\n", 1))
    with pytest.raises(FetchError, match="418.hea: checksum mismatch"):
        fetch_database(
            tmp_path / "vfdb", str(mirror), ["418.hea"], packaged_checksums("vfdb"), progress=False
        )
    assert not (tmp_path / "vfdb").exists() or not any((tmp_path / "vfdb").iterdir())


@pytest.mark.parametrize("database", ["vfdb", "cudb"])
def test_the_rhythm_database_mirrors_verify_against_the_packaged_checksums(
    tmp_path: Path, full_vfdb_mirror: Path, full_cudb_mirror: Path, database: str
) -> None:
    mirror = {"vfdb": full_vfdb_mirror, "cudb": full_cudb_mirror}[database]
    sums = packaged_checksums(database)
    report = fetch_database(tmp_path / database, str(mirror), sorted(sums), sums, progress=False)
    assert sorted(report.fetched) == sorted(sums)
