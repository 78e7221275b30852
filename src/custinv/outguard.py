"""Output guard: custinv never replaces a file it should not.

Every file custinv writes goes through :func:`custinv.outputs.atomic_path`, which asks this
module first. The rules, in order:

1. An output that *is* an input — the same file by device and inode, so ``./in.csv``,
   symbolic links and hard links are all caught — is a usage error (exit 2): ``audit
   in.xlsx --excel in.xlsx`` once replaced the user's export.
2. A symbolic link, device node, FIFO or socket already sitting at an output path is refused
   (exit 73): writing "through" it sends customer data wherever the link points.
3. An existing regular file that custinv did not write is refused (exit 2) unless
   ``--force``: a CRM account list passed to the wrong flag was overwritten that way.

"custinv wrote it" is recorded in a manifest, ``.custinv-manifest.json``, in the folder of
each file written: its name, size and modification time (ns). A file edited or replaced
since no longer matches and counts as foreign. A report with no manifest entry (written by
an older custinv) is recognised by the marker inside it: the HTML generator tag or the
workbook's creator. ``--keep N`` prunes only files custinv wrote, by the same test.

Temporary ``.part`` files carry the writing process's id in their name
(``.<name>.<pid>.<random>.part``); a file whose process is gone (``kill -9``, power loss)
is removed by the next write to the same target.

The policy (the run's inputs and ``--force``) is process-wide state set once by the CLI with
:func:`set_policy`: the guard must hold for every writer, including ones deep inside
renderers, without threading two extra arguments through all of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from custinv.errors import OutputError, UsageError

MANIFEST_NAME = ".custinv-manifest.json"
_PART = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.part$")


@dataclass
class Policy:
    inputs: list[Path] = field(default_factory=list)
    force: bool = False


_policy = Policy()


def set_policy(inputs: Iterable[Path | str], *, force: bool = False) -> None:
    """Name the run's inputs (never to be overwritten) and whether ``--force`` was given."""
    global _policy
    _policy = Policy(inputs=[Path(p) for p in inputs], force=force)


def policy() -> Policy:
    return _policy


# ----------------------------------------------------------------------------- the manifest


def _manifest(folder: Path) -> dict[str, dict[str, int]]:
    """The folder's manifest; a missing or damaged one is empty (nothing is trusted)."""
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return {}
    files: dict[str, dict[str, int]] = {}
    for name, entry in data["files"].items():
        if isinstance(entry, dict) and isinstance(entry.get("size"), int) and isinstance(entry.get("mtime_ns"), int):
            files[str(name)] = {"size": entry["size"], "mtime_ns": entry["mtime_ns"]}
    return files


def _store_manifest(folder: Path, files: dict[str, dict[str, int]]) -> None:
    text = json.dumps({"written_by": "custinv", "files": files}, indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{MANIFEST_NAME}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, folder / MANIFEST_NAME)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def record_written(path: Path) -> None:
    """Note ``path`` (just written by custinv) in its folder's manifest. A read-only folder
    cannot get here (the write itself would have failed); other errors are not worth a run."""
    folder = path.parent if str(path.parent) else Path(".")
    with contextlib.suppress(OSError):
        st = path.stat()
        files = _manifest(folder)
        files[path.name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        _store_manifest(folder, files)


def forget_written(paths: Iterable[Path]) -> None:
    """Drop removed files from their folders' manifests."""
    by_folder: dict[Path, list[str]] = {}
    for p in paths:
        by_folder.setdefault(p.parent, []).append(p.name)
    for folder, names in by_folder.items():
        with contextlib.suppress(OSError):
            files = _manifest(folder)
            for name in names:
                files.pop(name, None)
            _store_manifest(folder, files)


def written_by_custinv(path: Path) -> bool:
    """Does the manifest beside ``path`` name it with its current size and mtime — or, for a
    report written before manifests existed, does the file carry custinv's own marker?"""
    try:
        st = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    entry = _manifest(path.parent if str(path.parent) else Path(".")).get(path.name)
    if entry is not None:
        return entry == {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return carries_marker(path)


_HTML_MARKER = b'<meta name="generator" content="custinv '
_XLSX_MARKER = b"<dc:creator>custinv "
_MARKER_BYTES = 8192


def carries_marker(path: Path) -> bool:
    """The HTML report's generator meta tag, or the workbook's creator property (both set by
    custinv's writers). Reads at most a few KiB, whatever the file."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".html", ".htm"):
            with path.open("rb") as fh:
                return _HTML_MARKER in fh.read(_MARKER_BYTES)
        if suffix in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(path) as book:
                info = book.getinfo("docProps/core.xml")
                if info.file_size > _MARKER_BYTES:
                    return False
                return _XLSX_MARKER in book.read(info)
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return False
    return False


# ----------------------------------------------------------------------------- the checks


def same_file(a: Path, b: Path) -> bool:
    """Same file on disk (device + inode: catches ./, symlinks and hard links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_target(path: Path, *, inputs: Iterable[Path] | None = None, force: bool | None = None) -> None:
    """Refuse an output path that is an input, a link or special file, or someone else's file.

    Defaults come from the run's :func:`policy`."""
    path = Path(path)
    inputs = list(_policy.inputs if inputs is None else inputs)
    force = _policy.force if force is None else force
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    for inp in inputs:
        if same_file(path, inp):
            raise UsageError(f"output {path} is the input {inp}: custinv never overwrites its input",
                             hint="write the output under another name")
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"cannot write {path}: it is a symbolic link (custinv does not write through links)",
                          hint="remove the link or pick another name")
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot create {path}: it is a folder")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"cannot write {path}: it is a device, FIFO or socket, not a regular file",
                          hint="pick a regular file name")
    if not force and not written_by_custinv(path):
        raise UsageError(f"{path} exists and was not written by custinv; refusing to replace it",
                         hint="pick another name, or add --force to replace it")


def check_targets(paths: Iterable[Path | None]) -> None:
    """:func:`check_target` for each given path (None skipped): the CLI's up-front check."""
    for p in paths:
        if p is not None:
            check_target(Path(p))


def check_report_dir(report_dir: Path, dated_name: re.Pattern[str]) -> None:
    """Before any work: refuse ``--report-dir`` when an input lives there under a name a
    dated report could take (the as-of, so the exact name, is known only after reading)."""
    for inp in _policy.inputs:
        try:
            if inp.resolve().parent == report_dir.resolve() and dated_name.match(inp.name):
                raise UsageError(f"--report-dir {report_dir} holds the input {inp}, which a dated report could replace",
                                 hint="write the reports to another folder")
        except OSError:
            continue


def prunable(paths: Iterable[Path], keep_out: Iterable[Path]) -> list[Path]:
    """``paths`` that may be deleted: custinv-written, not an input, not in ``keep_out``."""
    guard = [*_policy.inputs, *keep_out]
    return [p for p in paths if written_by_custinv(p) and not any(same_file(p, g) for g in guard)]


# ----------------------------------------------------------------------------- temporary files


def part_prefix(path: Path) -> str:
    """Prefix of this process's temporary file for ``path`` (see :func:`clean_stale_parts`)."""
    return f".{path.name}.{os.getpid()}."


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_parts(path: Path) -> list[Path]:
    """Remove ``.part`` files of ``path`` left by processes that no longer exist."""
    folder = path.parent if str(path.parent) else Path(".")
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for child in folder.iterdir():
            m = _PART.match(child.name)
            if m and m.group("name") == path.name and not process_alive(int(m.group("pid"))):
                with contextlib.suppress(OSError):
                    child.unlink()
                    removed.append(child)
    return removed
