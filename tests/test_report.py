"""How a plan reads to people: the resource tree with the Docker settings, outputs with
secrets masked at any depth and long values cut."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from plan.model import Plan, Resource, Secret, reveal
from plan.report import SHOWN_CHARS, render_tree, show


def test_secret_is_masked_at_any_depth() -> None:
    shown = show({"arena": {"syncUrl": "https://api.example.com/sync", "credential": Secret("x")}})
    assert shown.splitlines() == [
        "arena:",
        "  credential: [secret]",
        "  syncUrl: https://api.example.com/sync",
    ]


def test_long_values_are_cut_with_their_length() -> None:
    pem = "-----BEGIN CERTIFICATE-----\n" + "A" * 500
    shown = show(pem)
    assert shown.startswith("-----BEGIN CERTIFICATE-----\\n")
    assert shown.endswith(f"… ({len(pem) + 1} chars)")  # the newline shows as \n
    assert len(shown) < SHOWN_CHARS + 20


def test_short_values_and_lists_read_plainly() -> None:
    assert show("vpc-123") == "vpc-123"
    assert show(["198.51.100.7"]) == '["198.51.100.7"]'
    assert show([Secret("x")]) == '["[secret]"]'


# --- the resource tree ---------------------------------------------------------------------------


def tree_text(plan: Plan) -> str:
    console = Console(record=True, width=240)
    console.print(render_tree(plan))
    return console.export_text()


def lines_under(text: str, resource: str) -> list[str]:
    """The detail lines printed under `resource`'s line, tree guides stripped."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if f" {resource} " in ln)
    depth = lines[start].index("── ") + 3
    found: list[str] = []
    for line in lines[start + 1 :]:
        if "── " in line[:depth] or len(line) <= depth:
            break  # the next resource
        found.append(line[depth:].rstrip())
    return found


def test_venue_tree_shows_the_docker_settings(plan_of: Callable[[str], Plan]) -> None:
    text = tree_text(plan_of("venue-dev-arena"))
    assert lines_under(text, "venue-arena-docker") == [
        "host ssh://deploy@10.20.0.5 · ssh options StrictHostKeyChecking=accept-new, "
        "ConnectTimeout=15"
    ]
    assert lines_under(text, "venue-arena-bastion-image") == [
        "image ghcr.io/example-tickets/bastion:2.1.0 · kept on the host when deleted"
    ]
    assert lines_under(text, "venue-arena-net") == ["driver bridge · not internal"]
    assert lines_under(text, "venue-arena-offline-store") == ["retained on delete"]
    assert lines_under(text, "venue-arena-tls-files") == ["deleted with the stack"]
    assert lines_under(text, "venue-arena-bastion") == [
        "image ghcr.io/example-tickets/bastion:2.1.0 · restart unless-stopped · memory 512 MB · "
        "user 10001:10001 · stop grace 30 s",
        "read-only root · tmpfs /tmp (rw,noexec,nosuid,size=64m) · not privileged · "
        "cap drop ALL · no-new-privileges:true",
        "port 10.20.0.5:8443->8443/tcp · network venue-arena-net",
        "volumes venue-arena-offline-store:/var/lib/bastion, "
        "venue-arena-tls-files:/run/bastion/tls:ro",
        "healthcheck curl … https://localhost:8443/healthz every 30s "
        "(timeout 5s, retries 3, start 30s)",
        "logs json-file (max-file 5, max-size 10m)",
        "env VENUE_ID, SYNC_URL, SYNC_CREDENTIAL, HEARTBEAT_URL, HEARTBEAT_INTERVAL_SECONDS, "
        "OFFLINE_STORE_PATH, ASPNETCORE_URLS, Kestrel__Certificates__Default__Path, "
        "Kestrel__Certificates__Default__KeyPath (values secret)",
    ]
    assert lines_under(text, "venue-arena-tls-writer") == [
        "image ghcr.io/example-tickets/bastion:2.1.0 · restart no · no memory limit · "
        "created, never started",
        "writable root · not privileged · network mode none",
        "no published port",
        "volumes venue-arena-tls-files:/run/bastion/tls · uploads 3 files (contents secret)",
        "no healthcheck",
        "logs default driver, no rotation",
    ]


def test_venue_tree_never_shows_a_secret_value(plan_of: Callable[[str], Plan]) -> None:
    plan = plan_of("venue-dev-arena")
    text = tree_text(plan)
    bastion = plan.named("venue-arena-bastion")
    envs = reveal(bastion.inputs["envs"])
    assert isinstance(bastion.inputs["envs"], Secret) and envs
    for entry in envs:
        name, value = entry.split("=", 1)
        assert name in text
        assert f"={value}" not in text
    sync = next(e for e in envs if e.startswith("SYNC_URL="))
    assert sync.split("=", 1)[1] not in text
    for upload in reveal(plan.named("venue-arena-tls-writer").inputs["uploads"]):
        assert upload["content"].splitlines()[1] not in text  # a line of the PEM body


def test_cloud_tree_stays_one_line_per_resource(dev_plan: Plan) -> None:
    lines = tree_text(dev_plan).strip().splitlines()
    assert len(lines) == 1 + len(dev_plan.resources)


def test_an_unhardened_container_reads_as_such() -> None:
    container = Resource(
        urn="urn:pulumi:v::ticketing::docker:index/container:Container::web",
        type="docker:index/container:Container",
        name="web",
        custom=True,
        parent=None,
        provider=None,
        inputs={
            "image": "nginx:1.27",
            "privileged": True,
            "ports": [{"internal": 80.0, "external": 8080.0}],
            "envs": Secret(["TOKEN=hunter2", "no-equals-sign"]),
        },
        outputs={},
    )
    plan = Plan(project="ticketing", stack="v", resources=[container])
    text = tree_text(plan)
    assert lines_under(text, "web") == [
        "image nginx:1.27 · restart no · no memory limit",
        "writable root · privileged",
        "port 0.0.0.0:8080->80/tcp",
        "no healthcheck",
        "logs default driver, no rotation",
        "env TOKEN, 1 more (values secret)",
    ]
    assert "hunter2" not in text and "no-equals-sign" not in text
