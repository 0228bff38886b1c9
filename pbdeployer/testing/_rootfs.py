"""Debian root filesystems for test hosts: debootstrapped once, then cached.

debootstrap takes over a minute, so an image is built once per distro and package
list, kept as a tarball plus an extracted copy (the read-only overlay lower dir) in
the cache dir, and guarded by a file lock so parallel test workers build it once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

from pbdeployer.testing._system import TestHostError, cache_dir, file_lock, run

DISTROS = ("bookworm", "trixie")
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "sudo",
    "iproute2",
    "procps",
    "python3-apt",
    "ca-certificates",
)
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "systemd-networkd-wait-online.service",
)
RECIPE_VERSION = 2
"""Bump when the image preparation below changes, so old caches are not reused."""

SOURCES_FILE = Path("/etc/apt/sources.list.d/debian.sources")
SOURCES_LIST = Path("/etc/apt/sources.list")


def image_key(distro: str) -> str:
    """Cache key: the distro plus a hash of everything that shapes the image."""
    recipe = json.dumps([distro, sorted(PACKAGES), sorted(MASKED_UNITS), RECIPE_VERSION])
    return f"{distro}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def mirror_uri() -> str:
    """The machine's Debian mirror: first ``URIs:`` of deb822 sources, else sources.list."""
    if SOURCES_FILE.exists():
        for line in SOURCES_FILE.read_text().splitlines():
            if line.strip().lower().startswith("uris:"):
                return line.split(":", 1)[1].split()[0]
    if SOURCES_LIST.exists():
        for line in SOURCES_LIST.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb":
                return next(p for p in parts[1:] if not p.startswith("["))
    raise TestHostError(f"no Debian mirror found in {SOURCES_FILE} or {SOURCES_LIST}")


def _images_dir() -> Path:
    return cache_dir() / "rootfs"


def cached_rootfs(distro: str) -> Path | None:
    """The extracted image if it is complete, without building anything."""
    key = image_key(distro)
    ready = _images_dir() / f"{key}.ready"
    return _images_dir() / key if ready.exists() else None


def ensure_rootfs(distro: str = "bookworm") -> Path:
    """Return the extracted image for ``distro``, building or unpacking it if needed."""
    if distro not in DISTROS:
        raise TestHostError(f"unknown distro {distro!r}; choose from {', '.join(DISTROS)}")
    found = cached_rootfs(distro)
    if found is not None:
        return found
    key = image_key(distro)
    images = _images_dir()
    with file_lock(images / f"{key}.lock"):
        found = cached_rootfs(distro)
        if found is not None:
            return found
        tarball = images / f"{key}.tar"
        target = images / key
        if tarball.exists():
            _extract(tarball, target)
        else:
            _build(distro, images / f"{key}.build", tarball, target)
        (images / f"{key}.ready").write_text(f"{time.time():.0f}\n")
        _prune_other_images(distro, keep=key)
        return target


def _prune_other_images(distro: str, keep: str) -> None:
    """Drop images of an older recipe, unless a live overlay still reads from one."""
    in_use = Path("/proc/self/mountinfo").read_text()
    for old in _images_dir().glob(f"{distro}-*"):
        key = old.name.split(".")[0]
        if key != keep and f"lowerdir={_images_dir() / key}," not in in_use:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)


def _build(distro: str, build: Path, tarball: Path, target: Path) -> None:
    """debootstrap, prepare for cloning, pack; tarball and copy appear atomically."""
    shutil.rmtree(build, ignore_errors=True)
    build.parent.mkdir(parents=True, exist_ok=True)
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            distro,
            build,
            mirror_uri(),
        ],
        timeout=1800,
    )
    prepare_image(build)
    partial = tarball.with_suffix(".tar.partial")
    run(["tar", "-C", build, "--numeric-owner", "--xattrs", "--xattrs-include=*",
         "-cf", partial, "."], timeout=600)  # fmt: skip
    partial.rename(tarball)
    shutil.rmtree(target, ignore_errors=True)
    build.rename(target)


def prepare_image(root: Path) -> None:
    """Strip per-machine identity so each host gets its own, and stop background apt."""
    systemd_dir = root / "etc/systemd/system"
    for unit in MASKED_UNITS:
        link = systemd_dir / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    (root / "etc/machine-id").write_text("")
    (root / "etc/default/locale").write_text("LANG=C.UTF-8\n")  # as the installer leaves it
    for stale in ("etc/resolv.conf", "etc/hostname", "var/lib/dbus/machine-id"):
        (root / stale).unlink(missing_ok=True)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def _extract(tarball: Path, target: Path) -> None:
    """Unpack next to the final place, then rename, so a half copy is never used."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    run(["tar", "-C", partial, "--numeric-owner", "--xattrs", "--xattrs-include=*",
         "-xpf", tarball], timeout=600)  # fmt: skip
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
