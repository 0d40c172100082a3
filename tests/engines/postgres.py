"""A real PostgreSQL server serving TLS, set up the way RDS sets up an instance.

Debian's server (the `postgresql` package, its newest installed major, as .ci/run
installs it) in a temporary directory. Like RDS it has a master role that is not a
superuser (LOGIN, CREATEROLE, CREATEDB, member of `rds_superuser`) and accepts only TLS
over TCP with a SCRAM password; the test's own superuser talks to it over the unix
socket. Several can run at once: each takes a free port.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Debian's PostgreSQL binaries, newest major first.
BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: -int(p.parent.name))
MASTER = "master"


@dataclass(frozen=True)
class Server:
    """One running server: its TCP port, its directory and the master's password."""

    port: int
    workdir: Path
    bin: Path
    master_password: str

    def superuser_sql(self, sql: str, database: str = "postgres") -> str:
        """`sql` run as the superuser over the unix socket; its bare output."""
        run = subprocess.run(
            [
                *(str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"),
                *("-h", str(self.workdir), "-p", str(self.port), "-U", "postgres", "-d", database),
            ],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            raise RuntimeError(f"psql as the superuser failed: {run.stderr.strip()}")
        return run.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(name: str) -> Iterator[Server]:
    """A server named `name` (its master password says which), stopped and removed after."""
    if not BINS:
        raise RuntimeError(
            "no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)"
        )
    pg_bin = BINS[0]
    user, entry = _server_user()
    workdir = Path(tempfile.mkdtemp(prefix=f"ticketing-pg-{name}-"))
    key, cert = workdir / "server.key", workdir / "server.crt"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    if entry:
        for path in (workdir, key, cert):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port, data = free_port(), workdir / "data"

    def pg(*args: str) -> None:
        subprocess.run(args, user=user, check=True, capture_output=True, text=True)

    pg(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust")
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={workdir}"
        f" -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"
    )
    pg(
        str(pg_bin / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(workdir / "log"),
        "-w",
        "-o",
        options,
        "start",
    )
    try:
        server = Server(port, workdir, pg_bin, f"{name}-master-pw")
        server.superuser_sql(
            "CREATE ROLE rds_superuser NOLOGIN;"
            f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{server.master_password}';"
            f"GRANT rds_superuser TO {MASTER};"
        )
        yield server
    finally:
        subprocess.run(
            [str(pg_bin / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"],
            user=user,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _server_user() -> tuple[str | None, pwd.struct_passwd | None]:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return None, None
    for user in ("postgres", "nobody"):
        try:
            return user, pwd.getpwnam(user)
        except KeyError:
            continue
    raise RuntimeError("running as root, but neither a postgres nor a nobody user exists")
