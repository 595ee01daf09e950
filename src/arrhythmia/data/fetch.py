"""Bring a PhysioNet database's record files (MITDB, SVDB, CinC 2017, VFDB, CUDB) into a
folder, verified against SHA256SUMS shipped with the package.

The source is PhysioNet over HTTPS, or a local mirror folder on machines that cannot reach
it (ARRHYTHMIA_<DATABASE>_MIRROR, or ARRHYTHMIA_MIRROR: one folder holding a subfolder per
database, `mitdb/`, `svdb/`, ...); both are treated alike: every file must match its SHA-256.

A run is transactional. Files are fetched into a staging folder and verified there; only when
every requested file is staged are they renamed into the destination, so a failed run leaves
the destination as it was. Interrupted downloads are kept as `<name>.part` in a cache folder
outside the destination and resumed with an HTTP Range request on the next attempt or run.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.resources
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from arrhythmia.atomic import atomic_path
from arrhythmia.errors import ArrhythmiaError

log = logging.getLogger(__name__)

DATABASES = ("mitdb", "svdb", "cinc2017", "vfdb", "cudb")
MIRROR_ENV = "ARRHYTHMIA_MITDB_MIRROR"
MIRROR_ROOT_ENV = "ARRHYTHMIA_MIRROR"  # a folder with one subfolder per database
USER_AGENT = "arrhythmia-fetch/0.1 (+https://physionet.org/)"
_CHUNK = 1 << 16
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

Sleep = Callable[[float], None]


class FetchError(ArrhythmiaError, RuntimeError):
    """A file could not be fetched or did not verify; the message names the file and cause."""


@dataclass(frozen=True)
class FetchReport:
    fetched: tuple[str, ...]
    already_present: tuple[str, ...]
    source: str
    dest: Path

    @property
    def nothing_done(self) -> bool:
        return not self.fetched


# --- checksums ---------------------------------------------------------------------------


def load_checksums(path_or_text: str | Path) -> dict[str, str]:
    """Parse SHA256SUMS lines ("<hex>  <name>", "<hex> <name>" or "<hex> *<name>").

    A Path, or a one-line str naming an existing file, is read; any other str is the text.
    """
    text = path_or_text
    if isinstance(path_or_text, Path) or (
        "\n" not in path_or_text and Path(path_or_text).is_file()
    ):
        text = Path(path_or_text).read_text()
    sums: dict[str, str] = {}
    for lineno, raw in enumerate(str(text).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not _HEX64.fullmatch(parts[0]):
            raise ValueError(f"checksum line {lineno}: expected '<sha256> <name>', got {raw!r}")
        digest, name = parts[0].lower(), parts[1].removeprefix("*")  # '*' = sha256sum -b mode
        if sums.get(name, digest) != digest:
            raise ValueError(f"checksum line {lineno}: {name} listed twice with different hashes")
        sums[name] = digest
    return sums


def mirror_env(database: str) -> str:
    """The environment variable naming a local mirror of one database."""
    return f"ARRHYTHMIA_{database.upper()}_MIRROR"


def packaged_checksums(database: str = "mitdb") -> dict[str, str]:
    """SHA256SUMS of a database (MITDB 1.0.0: PhysioNet's own; SVDB 1.0.0: of its 40 even
    records; CinC 2017: of the 2 842 training recordings numbered by 3, whose labels the
    package lists in cinc2017_reference.csv; VFDB and CUDB 1.0.0: the mirrors' of the 11
    and 18 records arrhythmia.data.records lists), shipped with the package as the trust
    anchor."""
    if database not in DATABASES:
        raise FetchError(f"{database!r} is not one of the databases {DATABASES}")
    resource = importlib.resources.files("arrhythmia.data").joinpath(f"{database}_sha256sums.txt")
    return load_checksums(resource.read_text())


def sha256_of(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _verify(path: Path, name: str, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        size = path.stat().st_size
        raise FetchError(
            f"{name}: checksum mismatch (expected {expected[:12]}.., got {actual[:12]}.., "
            f"{size} bytes)"
        )


# --- sources -----------------------------------------------------------------------------


def is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


def resolve_source(
    default_url: str, environ: Mapping[str, str] = os.environ, database: str = "mitdb"
) -> str:
    """The database's mirror folder (ARRHYTHMIA_<DATABASE>_MIRROR, else the `<database>`
    folder under ARRHYTHMIA_MIRROR) if either is set, else `default_url`."""
    variable = mirror_env(database)
    mirror = environ.get(variable, "")
    if not mirror and environ.get(MIRROR_ROOT_ENV, ""):
        variable = MIRROR_ROOT_ENV
        mirror = str(Path(environ[MIRROR_ROOT_ENV]).expanduser() / database)
    if not mirror:
        return default_url
    path = Path(mirror).expanduser()
    if not path.is_dir():
        raise FetchError(f"{variable}: {str(path)!r} is not a directory")
    # Absolute, so the source stays valid if the caller later changes directory.
    return str(path.resolve())


def physionet_challenge_name(name: str) -> str:
    """Where PhysioNet's challenge-2017 training folder keeps a file: a recording A01234
    under A01/, the lists (REFERENCE.csv, RECORDS) at the top."""
    return f"{name[:3]}/{name}" if name[:1] == "A" and name[1:3].isdigit() else name


def _file_url(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + urllib.parse.quote(name)


# --- one file ----------------------------------------------------------------------------


def fetch_file(
    source: str,
    name: str,
    target: str | Path,
    expected_sha256: str,
    *,
    retries: int = 4,
    backoff_s: float = 2.0,
    partial_dir: str | Path | None = None,
    timeout_s: float = 60.0,
    sleep: Sleep = time.sleep,
    progress: bool = False,
    remote_name: Callable[[str], str] = str,
) -> None:
    """Fetch `name` from `source` (base URL or mirror folder) to `target`, verified.
    `remote_name` maps the name to its path under a URL (a mirror folder is flat).

    `target` is written atomically and only once the content matches `expected_sha256`;
    on any failure it is left untouched and FetchError is raised.
    """
    target = Path(target)
    if is_url(source):
        part_dir = Path(partial_dir) if partial_dir is not None else target.parent
        _fetch_url(
            _file_url(source, remote_name(name)),
            name,
            target,
            expected_sha256,
            part_dir / f"{name}.part",
            retries=retries,
            backoff_s=backoff_s,
            timeout_s=timeout_s,
            sleep=sleep,
            progress=progress,
        )
    else:
        _fetch_mirror(Path(source), name, target, expected_sha256)


def _fetch_mirror(folder: Path, name: str, target: Path, expected: str) -> None:
    src = folder / name
    if not src.is_file():
        raise FetchError(f"{name}: not found in mirror {folder}")
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
        _verify(tmp, name, expected)


def _fetch_url(
    url: str,
    name: str,
    target: Path,
    expected: str,
    part: Path,
    *,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    sleep: Sleep,
    progress: bool,
) -> None:
    part.parent.mkdir(parents=True, exist_ok=True)
    resumed = part.is_file() and part.stat().st_size > 0
    while True:
        _download(url, name, part, retries, backoff_s, timeout_s, sleep, progress)
        try:
            _verify(part, name, expected)
            break
        except FetchError:
            # A bad .part must not poison the next run: drop it. If we built on a .part left
            # by an earlier run (it may be stale or from a changed upstream), start over once.
            part.unlink(missing_ok=True)
            if not resumed:
                raise
            log.warning("%s: resumed download did not verify; downloading it afresh", name)
            resumed = False
    with atomic_path(target) as tmp:
        shutil.move(part, tmp)


class _RestartDownload(Exception):
    """The server cannot continue our .part (bad Content-Range, 416): discard it, retry."""


def _download(
    url: str,
    name: str,
    part: Path,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    sleep: Sleep,
    progress: bool,
) -> None:
    """Download `url` into `part`, resuming what is there; `retries` attempts in all."""
    attempts = max(1, retries)
    last_error: BaseException | None = None
    for attempt in range(1, attempts + 1):
        try:
            _download_once(url, part, timeout_s, progress, name)
            return
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise FetchError(f"{name}: not found at {url} (HTTP 404)") from e
            if e.code == 416:  # our .part is as long as the file, or longer: not resumable
                part.unlink(missing_ok=True)
            elif 400 <= e.code < 500 and e.code not in (408, 429):
                raise FetchError(f"{name}: HTTP {e.code} {e.reason} for {url}") from e
            last_error = e
        except _RestartDownload as e:
            part.unlink(missing_ok=True)
            last_error = e
        except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, cut-off bodies
            last_error = e
        if attempt < attempts:
            delay = backoff_s * 2 ** (attempt - 1)
            log.warning(
                "%s: attempt %d/%d failed (%s); retrying in %.1f s",
                name,
                attempt,
                attempts,
                _reason(last_error),
                delay,
            )
            sleep(delay)
    raise FetchError(
        f"{name}: source unreachable after {attempts} attempts: {_reason(last_error)}"
    ) from last_error


def _reason(error: BaseException | None) -> str:
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        return str(error.reason)
    return f"{type(error).__name__}: {error}" if error is not None else "unknown error"


def _download_once(url: str, part: Path, timeout_s: float, progress: bool, name: str) -> None:
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        if offset and response.status == 206:
            _check_content_range(response.headers.get("Content-Range", ""), offset)
            mode = "ab"
        else:  # 200: the server sent the whole file (it ignored Range): start over
            offset, mode = 0, "wb"
        header = response.headers.get("Content-Length", "")
        length = int(header) if header.isdigit() else None
        received = 0
        with (
            part.open(mode) as out,
            tqdm(
                total=None if length is None else offset + length,
                initial=offset,
                unit="B",
                unit_scale=True,
                desc=name,
                leave=False,
                disable=not progress,
            ) as bar,
        ):
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # read(n) returns b"" on a connection closed early instead of raising IncompleteRead.
    # What arrived stays in the .part; the retry resumes from there.
    if length is not None and received < length:
        raise ConnectionError(f"connection closed after {received} of {length} bytes")


def _check_content_range(content_range: str, offset: int) -> None:
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", content_range.strip())
    if not match or int(match.group(1)) != offset:
        raise _RestartDownload(f"unexpected Content-Range {content_range!r} for offset {offset}")


# --- many files, transactionally ---------------------------------------------------------


def fetch_database(
    dest: str | Path,
    source: str,
    files: Sequence[str],
    checksums: Mapping[str, str],
    *,
    retries: int = 4,
    backoff_s: float = 2.0,
    staging_dir: str | Path | None = None,
    partial_dir: str | Path | None = None,
    progress: bool = True,
    timeout_s: float = 60.0,
    sleep: Sleep = time.sleep,
    remote_name: Callable[[str], str] = str,
) -> FetchReport:
    """Make `dest` hold every file in `files`, each matching `checksums`, or change nothing.

    Defaults, for dest data/raw/mitdb: staging in data/.staging-mitdb and partial downloads
    in data/.downloads (both outside dest, on its filesystem so the final renames are atomic).
    """
    dest = Path(dest)
    unlisted = [name for name in files if name not in checksums]
    if unlisted:
        raise FetchError(f"{unlisted[0]}: no SHA-256 in the checksum list ({len(unlisted)} files)")
    present, missing = _split_present(dest, files, checksums)
    if not missing:
        log.info("all %d files already present and verified in %s; nothing to do", len(files), dest)
        return FetchReport(fetched=(), already_present=tuple(present), source=source, dest=dest)

    _check_source(source)
    data_root = dest.absolute().parent.parent
    staging = Path(staging_dir) if staging_dir is not None else data_root / f".staging-{dest.name}"
    partial = Path(partial_dir) if partial_dir is not None else data_root / ".downloads"
    log.info("fetching %d of %d files from %s into %s", len(missing), len(files), source, dest)
    shutil.rmtree(staging, ignore_errors=True)  # leftovers of an interrupted run
    staging.mkdir(parents=True)
    try:
        _check_same_filesystem(staging, dest)
        for name in tqdm(missing, desc=dest.name, unit="file", disable=not progress):
            fetch_file(
                source,
                name,
                staging / name,
                checksums[name],
                retries=retries,
                backoff_s=backoff_s,
                partial_dir=partial,
                timeout_s=timeout_s,
                sleep=sleep,
                progress=progress,
                remote_name=remote_name,
            )
        _commit(staging, dest, missing)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchReport(
        fetched=tuple(missing), already_present=tuple(present), source=source, dest=dest
    )


def _split_present(
    dest: Path, files: Sequence[str], checksums: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """(files in dest that verify, files to fetch); a file in dest that fails is refetched."""
    present, missing = [], []
    for name in files:
        path = dest / name
        if path.is_file() and sha256_of(path) == checksums[name]:
            present.append(name)
        else:
            if path.exists():
                log.warning("%s: present in %s but does not verify; fetching it again", name, dest)
            missing.append(name)
    return present, missing


def _check_source(source: str) -> None:
    if not is_url(source) and not Path(source).is_dir():
        raise FetchError(f"source {source!r} is neither an http(s) URL nor a mirror directory")


def _check_same_filesystem(staging: Path, dest: Path) -> None:
    # os.replace is only an atomic rename within one filesystem; across two it fails with
    # EXDEV, possibly half-way through the commit. Refuse before fetching anything.
    anchor = dest.absolute()
    while not anchor.exists():
        anchor = anchor.parent
    if os.stat(staging).st_dev != os.stat(anchor).st_dev:
        raise FetchError(f"staging folder {staging} is not on the same filesystem as {dest}")


def _commit(staging: Path, dest: Path, names: Sequence[str]) -> None:
    """Move every staged (already verified) file into dest; only reached when all are staged."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        os.replace(staging / name, dest / name)
