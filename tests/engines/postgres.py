"""A real PostgreSQL server serving TLS, set up the way RDS sets up an instance.

Debian's server (the `postgresql` package, its newest installed major, as .ci/run
installs it) in a temporary directory. Like RDS it has a master role that is not a
superuser (LOGIN, CREATEROLE, CREATEDB, member of `rds_superuser`) and accepts only TLS
over TCP with a SCRAM password, its certificate (for IP 127.0.0.1) issued by a CA of its
own (`ca_file`, what a client verifies it with, as RDS's CA bundle); the test's own
superuser talks to it over the unix socket. Several can run at once: each takes a free
port.
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
from dataclasses import dataclass, replace
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

    @property
    def ca_file(self) -> Path:
        """The CA that issued the server's certificate."""
        return self.workdir / "ca.crt"

    @property
    def server_cert(self) -> tuple[Path, Path]:
        """The server's certificate (for IP 127.0.0.1) and key."""
        return self.workdir / "server.crt", self.workdir / "server.key"

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


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA (`req -x509` marks it CA:TRUE) in `directory`: its key and cert."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-keyout", key, "-out", cert, "-subj", f"/CN=ticketing test {name}"),
    )
    return key, cert


def _server_certificate(workdir: Path) -> tuple[Path, Path]:
    """`server.crt` for IP 127.0.0.1, issued by the CA `ca.crt` made beside it; its key."""
    ca_key, ca = make_ca(workdir, "ca")
    key, cert, csr, ext = (workdir / f"server.{e}" for e in ("key", "crt", "csr", "ext"))
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr),
        *("-subj", "/CN=127.0.0.1"),
    )
    openssl(
        *("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", "1"),
        *("-days", "2", "-extfile", ext, "-out", cert),
    )
    key.chmod(0o600)
    return key, cert


@contextmanager
def running(name: str, master_password: str | None = None) -> Iterator[Server]:
    """A server named `name`, its master's password `master_password` (default: one
    naming the server), stopped and removed after."""
    with _server(name, None) as server:
        if master_password:
            server = replace(server, master_password=master_password)
        server.superuser_sql(
            "CREATE ROLE rds_superuser NOLOGIN;"
            f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{server.master_password}';"
            f"GRANT rds_superuser TO {MASTER};"
        )
        yield server


@contextmanager
def restored(source: Server, name: str) -> Iterator[Server]:
    """A new server holding a physical copy of `source` as it is now (`pg_basebackup`,
    what an RDS snapshot is: every database, role and password), on a port and with a
    certificate of its own; its master's password is then a new one, as RDS manages a
    new master secret for a restored instance."""
    with _server(name, source) as server:
        server.superuser_sql(f"ALTER ROLE {MASTER} PASSWORD '{server.master_password}'")
        yield server


@contextmanager
def _server(name: str, copy_of: Server | None) -> Iterator[Server]:
    """A started server in a new directory: `initdb`'s, or a base backup of `copy_of`."""
    if not BINS:
        raise RuntimeError(
            "no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)"
        )
    pg_bin = BINS[0]
    user, entry = _server_user()
    workdir = Path(tempfile.mkdtemp(prefix=f"ticketing-pg-{name}-"))
    key, cert = _server_certificate(workdir)
    if entry:
        for path in (workdir, key, cert):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port, data = free_port(), workdir / "data"

    def pg(*args: str) -> None:
        subprocess.run(args, user=user, check=True, capture_output=True, text=True)

    if copy_of is None:
        pg(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust")
        (data / "pg_hba.conf").write_text(
            "local all all trust\nlocal replication all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        )
    else:
        pg(
            str(pg_bin / "pg_basebackup"),
            *("-D", str(data), "-h", str(copy_of.workdir), "-p", str(copy_of.port)),
            *("-U", "postgres", "-X", "stream", "-c", "fast"),
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
        yield Server(port, workdir, pg_bin, f"{name}-master-pw")
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
