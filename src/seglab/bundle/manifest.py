"""The bundle's manifest: what a bundle is, which seglab wrote it, and the sha256 of every file.

A bundle is a folder. ``manifest.json`` lists every other file with its sha256, the bundle
format, the seglab version that wrote it and the library versions its numbers depend on.
``verify`` refuses, with a one-line `BundleError`, a bundle whose format or seglab version this
seglab cannot read, a file whose hash differs (corrupted, or swapped in from another bundle), a
listed file that is missing, and any file the manifest does not list (nothing unlisted is ever
read, so a pickle dropped into the folder is refused rather than ignored).
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any

from seglab import __version__
from seglab.errors import SeglabError
from seglab.rundir import BUNDLE_MANIFEST

#: Bumped when the layout or the meaning of a file changes; a reader refuses other formats.
FORMAT = 1
#: Leading bytes of a pickle stream (protocols 2-5): such files are never part of a bundle.
PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


class BundleError(SeglabError):
    """A bundle that cannot be trusted or read: bad hash, unknown file, pickle, other format."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions the saved numbers depend on (recorded; a differing scikit-learn or torch warns)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("numpy", "scikit-learn", "torch", "skops", "pandas"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def write_manifest(folder: Path) -> dict[str, Any]:
    """Hash every file under ``folder`` (the manifest itself excepted) and write the manifest."""
    files = {p.relative_to(folder).as_posix(): sha256_file(p)
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != BUNDLE_MANIFEST}
    manifest = {"format": FORMAT, "seglab_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "libraries": library_versions(), "files": files}
    (folder / BUNDLE_MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in str(version).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def compatible(bundle_version: str, ours: str = __version__) -> bool:
    """A bundle is readable by the seglab that wrote it and by later ones of the same major
    version (0.x: the same minor version); never by an earlier seglab."""
    b, o = _version_tuple(bundle_version), _version_tuple(ours)
    same_line = b[:1] == o[:1] if o[:1] != (0,) else b[:2] == o[:2]
    return same_line and b <= o


def verify(folder: Path) -> dict[str, Any]:
    """The manifest of ``folder`` after every check in the module docstring; raises `BundleError`."""
    path = folder / BUNDLE_MANIFEST
    if not path.is_file():
        raise BundleError(f"{folder} is not a seglab bundle (no {BUNDLE_MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as err:
        raise BundleError(f"{path} is not valid JSON ({err}); the bundle is corrupted") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{folder}: bundle format {manifest.get('format')!r}, this seglab reads format {FORMAT}; "
                          f"load it with the seglab version that wrote it ({manifest.get('seglab_version')})")
    written = str(manifest.get("seglab_version"))
    if not compatible(written):
        raise BundleError(f"{folder}: written by seglab {written}, incompatible with this seglab {__version__}; "
                          f"install seglab=={written} to load it, or retrain")
    listed = dict(manifest.get("files") or {})
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != BUNDLE_MANIFEST}
    unlisted = sorted(present - set(listed))
    if unlisted:
        raise BundleError(f"{folder}: files not in the manifest: {', '.join(unlisted)} (a bundle is read only "
                          "as listed; remove them or re-save the bundle)")
    for name, digest in listed.items():
        file = folder / name
        if not file.is_file():
            raise BundleError(f"{folder}: {name} is listed in the manifest but missing")
        with open(file, "rb") as f:
            if f.read(2) in PICKLE_MAGIC:
                raise BundleError(f"{file} is a pickle; seglab bundles never load pickles")
        if sha256_file(file) != digest:
            raise BundleError(f"{file}: sha256 differs from the manifest (corrupted, or swapped from another "
                              "bundle); re-save the bundle from its run")
    return manifest
