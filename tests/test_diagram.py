"""The deployment diagram: derived from the plan and the catalog, deterministic, renderable."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plan.diagram import (
    DeploymentGraph,
    build_graph,
    deployment_graph,
    embedded_digest,
    source_digest,
    topology,
    venue_topology,
    write_diagram,
)
from plan.model import Plan, Resource, Secret
from plan.resource_types import DNS_RECORD
from seed import naming
from tests import factories

STACK_URN = "urn:pulumi:prod::ticketing::pulumi:pulumi:Stack::ticketing-prod"


def resource(type_: str, name: str, /, **inputs: Any) -> Resource:
    """A prod resource at the top of the stack, as the diagram reads them."""
    return factories.resource(type_, name, stack="prod", parent=STACK_URN, **inputs)


def prod_like() -> Plan:
    """Three AZs, NAT per AZ, an NLB on three Elastic IPs, a dedicated payments database."""
    rs = [
        resource("pulumi:providers:aws", "aws", region="eu-west-1"),
        resource("aws:ec2/vpc:Vpc", "core-vpc", cidrBlock="10.40.0.0/16"),
    ]
    for z in "abc":
        az = f"eu-west-1{z}"
        rs.append(
            resource(
                "aws:ec2/subnet:Subnet",
                f"core-public-{z}",
                availabilityZone=az,
                mapPublicIpOnLaunch=False,
                tags={"tier": "public"},
            )
        )
        rs.append(
            resource(
                "aws:ec2/subnet:Subnet",
                f"core-private-{z}",
                availabilityZone=az,
                tags={"tier": "private"},
            )
        )
        rs.append(resource("aws:ec2/eip:Eip", f"core-nat-{z}", domain="vpc"))
        rs.append(resource("aws:ec2/natGateway:NatGateway", f"core-nat-{z}", allocationId="x"))
        rs.append(resource("aws:ec2/eip:Eip", f"ingress-{z}", domain="vpc"))
    rs += [
        resource(
            "aws:lb/loadBalancer:LoadBalancer",
            "ingress-nlb",
            loadBalancerType="network",
            subnetMappings=[{"subnetId": f"s{i}", "allocationId": f"e{i}"} for i in range(3)],
        ),
        resource(
            "aws:lb/loadBalancer:LoadBalancer",
            "ingress-alb",
            loadBalancerType="application",
            internal=True,
        ),
        resource("aws:rds/instance:Instance", "database", instanceClass="db.t4g.medium"),
        resource(
            "aws:rds/instance:Instance",
            "payments-database",
            instanceClass="db.t4g.medium",
            multiAz=True,
        ),
        resource("aws:ec2/instance:Instance", "app-host", instanceType="m6i.large"),
        resource("cloudflare:index/ruleset:Ruleset", "edge-ddos", phase="ddos_l7"),
        resource("cloudflare:index/ruleset:Ruleset", "edge-rate", phase="http_ratelimit"),
        resource(
            "aws:ssm/parameter:Parameter",
            "venue-arena",
            name=naming.ssm_venue_credential("prod", "arena"),
        ),
        resource(
            "aws:ssm/parameter:Parameter",
            "venue-dome",
            name=naming.ssm_venue_credential("prod", "dome"),
        ),
    ]
    return Plan(project="ticketing", stack="prod", resources=rs)


def edges(graph: DeploymentGraph) -> set[tuple[str, str]]:
    return {(e.tail, e.head) for e in graph.edges}


def test_topology_counts_what_the_plan_registers() -> None:
    topo = topology(prod_like())
    assert (topo.az_count, topo.public_subnets, topo.private_subnets) == (3, 3, 3)
    assert topo.nat_gateways == 3
    assert topo.nlb and topo.static_ips == 3
    assert topo.alb and topo.alb_internal
    assert (topo.nlb_names, topo.alb_names) == (("ingress-nlb",), ("ingress-alb",))
    assert topo.vpc_cidr == "10.40.0.0/16"
    assert topo.region == "eu-west-1"
    assert topo.venues == ("arena", "dome")
    assert topo.edge_features == {"DDoS Protection": ("L7 DDoS rules",), "WAF": ("rate limits",)}


def test_a_dedicated_database_holds_only_its_service() -> None:
    topo = topology(prod_like())
    shared, dedicated = topo.databases
    assert shared.services == ("ticketing", "identity", "notifications")
    assert not shared.dedicated and not shared.multi_az
    assert dedicated.services == ("payments",)
    assert dedicated.dedicated and dedicated.multi_az
    assert topo.database_of("payments") is dedicated


def test_project_prefix_does_not_make_a_resource_the_ticketing_service() -> None:
    plan = Plan(
        project="ticketing",
        stack="dev",
        resources=[
            resource("aws:ec2/instance:Instance", "ticketing-dev-app-host"),
            resource("aws:ec2/instance:Instance", "identity-host", instanceType="t3.small"),
        ],
    )
    shared, dedicated = topology(plan).app_hosts
    assert shared.services == ("ticketing", "payments", "notifications")
    assert (dedicated.name, dedicated.services, dedicated.dedicated) == (
        "identity-host",
        ("identity",),
        True,
    )


def test_a_nat_instance_is_drawn_as_the_nat_not_as_an_app_host() -> None:
    plan = Plan(
        project="ticketing",
        stack="dev",
        resources=[
            resource("aws:ec2/subnet:Subnet", "core-public-a", tags={"tier": "public"}),
            resource("aws:ec2/eip:Eip", "core-nat-eip", domain="vpc"),
            resource(
                "aws:ec2/instance:Instance",
                "core-nat-vm",
                instanceType="t4g.nano",
                sourceDestCheck=False,
            ),
            resource("aws:ec2/instance:Instance", "shared-host-vm", instanceType="t3.medium"),
        ],
    )
    topo = topology(plan)
    assert topo.nat_gateways == 0 and topo.nat_instances == ("t4g.nano",)
    [host] = topo.app_hosts
    assert host.name == "shared-host-vm"
    g = deployment_graph(plan)
    assert g.node("nat").label == "NAT instance · t4g.nano\nprivate subnets' egress"
    assert g.node("nat").cluster == "public"


def test_clusters_are_the_seeds_boundaries_with_the_vpc_split_by_tier() -> None:
    g = deployment_graph(prod_like())
    parents = {c.id: c.parent for c in g.clusters}
    assert {c for c, p in parents.items() if p is None} == {
        "clients",
        "onprem",
        "cloudflare",
        "aws",
    }
    assert parents["vpc"] == "aws"
    assert parents["public"] == "vpc" and parents["private"] == "vpc"
    labels = {c.id: c.label for c in g.clusters}
    assert labels["public"] == "3 public subnets"
    assert labels["vpc"] == "VPC 10.40.0.0/16 · 3 AZs"
    assert "venues: arena, dome" in labels["onprem"]
    assert {n.id for n in g.in_cluster("public")} == {"static_ip", "nat"}
    assert g.node("static_ip").label == "Static IP\nNLB · 3 Elastic IPs"
    assert g.node("nat").label == "3 NAT gateways\nprivate subnets' egress"


def test_every_service_has_exactly_its_own_stores() -> None:
    g = deployment_graph(prod_like())
    ids = {n.id for n in g.nodes}
    # The seed's Backing Services table.
    expected = {
        "ticketing": {"redis", "rabbitmq", "db"},
        "payments": {"redis", "rabbitmq", "db"},
        "identity": {"redis", "db"},
        "notifications": {"rabbitmq", "db"},
    }
    for service, stores in expected.items():
        assert f"svc_{service}" in ids
        for store in ("redis", "rabbitmq"):
            assert (f"{store}_{service}" in ids) == (store in stores), (service, store)
            if store in stores:
                assert (f"svc_{service}", f"{store}_{service}") in edges(g)
        assert (f"svc_{service}", f"db_{service}") in edges(g)
    assert g.node("db_payments").cluster == "rds_payments_database"
    assert g.node("db_ticketing").cluster == "rds_database"


def test_traffic_flows_client_edge_static_ip_alb_service() -> None:
    g = deployment_graph(prod_like())
    e = edges(g)
    for client in ("client_client-mobile", "client_client-web", "client_admin-portal"):
        assert (client, "cf_ddos_protection") in e
    assert ("client_handheld", "bastion") in e
    assert ("bastion", "cf_ddos_protection") in e
    assert {("cf_ddos_protection", "cf_waf"), ("cf_waf", "cf_cdn")} <= e
    assert {("cf_cdn", "static_ip"), ("static_ip", "alb")} <= e
    assert ("alb", "svc_payments") in e
    assert ("cf_cdn", "alb") not in e
    assert g.node("alb").cluster == "private"


def test_without_an_nlb_the_edge_reaches_an_internet_facing_alb() -> None:
    plan = Plan(
        project="ticketing",
        stack="dev",
        resources=[resource("aws:lb/loadBalancer:LoadBalancer", "alb", internal=False)],
    )
    topo = topology(plan)
    assert (topo.nlb_names, topo.alb_names, topo.alb_internal) == ((), ("alb",), False)
    g = deployment_graph(plan)
    assert "static_ip" not in {n.id for n in g.nodes}
    assert ("cf_cdn", "alb") in edges(g)
    assert g.node("alb").cluster == "public"


def test_an_empty_plan_still_draws_the_seed_from_the_catalog() -> None:
    g = deployment_graph(Plan(project="ticketing", stack="dev"))
    ids = {n.id for n in g.nodes}
    assert {"static_ip", "alb", "svc_ticketing", "db_notifications", "cloudwatch", "acm"} <= ids
    assert "nat" not in ids
    assert len([c for c in g.clusters if c.kind == "host"]) == 1
    assert len([c for c in g.clusters if c.kind == "rds"]) == 1


def test_an_empty_plan_draws_no_zero_counts() -> None:
    g = deployment_graph(Plan(project="ticketing", stack="dev"))
    labels = {c.id: c.label for c in g.clusters}
    assert (labels["public"], labels["private"], labels["vpc"]) == (
        "public subnets",
        "private subnets",
        "VPC",
    )
    assert g.node("static_ip").label == "Static IP\nNLB"
    assert not re.search(
        r"(^|\s)0 ", "\n".join(labels.values()) + "".join(n.label for n in g.nodes)
    )


def test_graphviz_source_is_top_to_bottom_with_clusters() -> None:
    source = build_graph(prod_like()).source
    assert "rankdir=TB" in source
    for cluster in ("cluster_cloudflare", "cluster_aws", "cluster_vpc", "cluster_onprem"):
        assert f"subgraph {cluster} {{" in source


def test_every_line_of_a_cluster_label_is_aligned_like_its_first() -> None:
    source = build_graph(prod_like()).source
    assert 'label="On-Premise\\lvenue network\\lvenues: arena, dome\\l"' in source
    assert 'label="VPC 10.40.0.0/16 · 3 AZs\\l"' in source
    assert 'label="Cloudflare\\r"' in source and "labeljust=r" in source  # entered on its left


# --- the drawn picture, from the coordinates `dot` lays it out at ----------------------------


@dataclass(frozen=True)
class Box:
    left: float
    bottom: float
    right: float
    top: float


@dataclass(frozen=True)
class Layout:
    """Where `dot` put things, in points; y grows upwards."""

    width: float
    nodes: Mapping[str, Box]
    clusters: Mapping[str, Box]
    lines: Mapping[tuple[str, str], list[tuple[float, float]]]

    def above(self, upper: str, lower: str) -> bool:
        return self.nodes[upper].bottom > self.nodes[lower].top


def layout(plan: Plan) -> Layout:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed: the picture cannot be laid out")
    drawn = json.loads(build_graph(plan).pipe(format="json"))
    objects: list[dict[str, Any]] = drawn["objects"]
    nodes: dict[str, Box] = {}
    clusters: dict[str, Box] = {}
    for o in objects:
        if "pos" in o:
            x, y = (float(v) for v in o["pos"].split(","))
            w, h = float(o["width"]) * 36, float(o["height"]) * 36
            nodes[o["name"]] = Box(x - w, y - h, x + w, y + h)
        elif o["name"].startswith("cluster_"):
            left, bottom, right, top = (float(v) for v in o["bb"].split(","))
            clusters[o["name"].removeprefix("cluster_")] = Box(left, bottom, right, top)
    names = {o["_gvid"]: o["name"] for o in objects}
    lines: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for e in drawn.get("edges", []):
        points = [p.removeprefix("e,").removeprefix("s,") for p in e["pos"].split()]
        xy = [tuple(float(v) for v in p.split(",")[-2:]) for p in points]
        lines[(names[e["tail"]], names[e["head"]])] = [(x, y) for x, y in xy]
    return Layout(float(drawn["bb"].split(",")[2]), nodes, clusters, lines)


@pytest.fixture(scope="module")
def prod_picture() -> Layout:
    return layout(prod_like())


def test_requests_flow_down_the_picture(prod_picture: Layout) -> None:
    p = prod_picture
    for client in ("client_client-mobile", "client_client-web", "client_admin-portal"):
        assert p.above(client, "cf_ddos_protection")
    assert p.above("bastion", "cf_ddos_protection")
    assert p.above("cf_cdn", "static_ip") and p.above("static_ip", "alb")
    for service in ("ticketing", "payments", "identity", "notifications"):
        assert p.above("alb", f"svc_{service}")
        assert p.above(f"svc_{service}", f"db_{service}")
    # Cloudflare's services side by side, in the order a request meets them.
    ddos, waf, cdn = (p.nodes[f"cf_{s}"] for s in ("ddos_protection", "waf", "cdn"))
    assert ddos.right < waf.left and waf.right < cdn.left


def test_the_alb_sits_above_the_services_it_routes_to(prod_picture: Layout) -> None:
    p = prod_picture
    services = [p.nodes[f"svc_{s}"] for s in ("ticketing", "payments", "identity", "notifications")]
    alb = p.nodes["alb"]
    assert (
        min(s.left for s in services) < (alb.left + alb.right) / 2 < max(s.right for s in services)
    )
    assert p.clusters["public"].bottom > p.clusters["private"].top


def test_certificate_manager_and_cloudwatch_sit_outside_the_vpc_above_and_below(
    prod_picture: Layout,
) -> None:
    p = prod_picture
    vpc = p.clusters["vpc"]
    assert p.nodes["acm"].bottom > vpc.top and p.above("cf_cdn", "acm")
    assert p.nodes["cloudwatch"].top < vpc.bottom
    # The monitoring line starts at the VPC's border: it does not run through the VPC.
    [logs] = [line for (_, head), line in p.lines.items() if head == "cloudwatch" and line]
    assert all(y <= vpc.bottom + 1 for _, y in logs)


def test_a_service_reaches_its_database_through_its_own_network(prod_picture: Layout) -> None:
    p = prod_picture
    for service in ("ticketing", "payments", "identity", "notifications"):
        net = p.clusters[f"net_{service}"]
        via = f"via_svc_{service}_db_{service}"
        line = p.lines[(f"svc_{service}", via)] + p.lines[(via, f"db_{service}")]
        inside = [(x, y) for x, y in line if y >= net.bottom]
        assert inside and all(net.left <= x <= net.right for x, _ in inside), service


def test_a_cloud_stacks_picture_fits_the_readme(plan_of: Callable[[str], Plan]) -> None:
    for stack in ("dev", "prod"):
        assert layout(plan_of(stack)).width <= 1000, stack


# --- a venue stack ------------------------------------------------------------------------------

VENUE_URN = "urn:pulumi:venue-prod-dome::ticketing"


def venue_resource(type_: str, name: str, /, **fields: Any) -> Resource:
    return Resource(
        urn=f"{VENUE_URN}::{type_}::{name}",
        type=type_,
        name=name,
        custom=True,
        parent=None,
        provider=fields.pop("provider", None),
        inputs=fields.pop("inputs", {}),
        outputs=fields.pop("outputs", {}),
        **fields,
    )


def venue_like(**container_inputs: Any) -> Plan:
    """A venue's Docker host with one Bastion, its two volumes and the cloud stack's reference."""
    docker = venue_resource(
        "pulumi:providers:docker", "dome-docker", inputs={"host": "tcp://10.9.0.2:2376"}
    )
    inputs = {
        "name": "dome-bastion",
        "image": "sha256:abc",
        "ports": [{"ip": "10.9.0.2", "internal": 443.0, "external": 443.0}],
        "volumes": [
            {"volumeName": "dome-store", "containerPath": "/var/lib/bastion"},
            {"volumeName": "dome-tls", "containerPath": "/run/bastion/tls"},
        ],
        "envs": Secret(
            [
                "VENUE_ID=dome",
                "SYNC_URL=https://api.example-tickets.com/ticketing/sync",
                "SYNC_CREDENTIAL=s3cr3t-value",
            ]
        ),
        **container_inputs,
    }
    resources = [
        venue_resource(
            "pulumi:pulumi:StackReference",
            "acme/ticketing/prod",
            outputs={
                "name": "acme/ticketing/prod",
                "outputs": {
                    "environment": "prod",
                    "publicHostnames": {"api": "api.example-tickets.com"},
                    "venueSync": Secret({"dome": {"credential": "s3cr3t-value"}}),
                },
            },
            read=True,
        ),
        docker,
        venue_resource(
            "docker:index/remoteImage:RemoteImage",
            "dome-image",
            inputs={"name": "ghcr.io/acme/bastion:2.1.0"},
            outputs={"imageId": "sha256:abc"},
            provider=docker.urn,
        ),
        venue_resource(
            "docker:index/volume:Volume",
            "dome-store",
            inputs={"name": "dome-store"},
            provider=docker.urn,
            retain_on_delete=True,
        ),
        venue_resource(
            "docker:index/volume:Volume",
            "dome-tls",
            inputs={"name": "dome-tls"},
            provider=docker.urn,
        ),
        venue_resource(
            "docker:index/container:Container", "dome-bastion", inputs=inputs, provider=docker.urn
        ),
    ]
    return Plan(project="ticketing", stack="venue-prod-dome", resources=resources)


def test_a_venue_stack_reads_its_side_from_docker_and_the_cloud_from_its_reference() -> None:
    topo = venue_topology(venue_like())
    assert (topo.venue, topo.docker_host) == ("dome", "tcp://10.9.0.2:2376")
    [bastion] = topo.containers
    assert (bastion.name, bastion.image, bastion.published) == (
        "dome-bastion",
        "ghcr.io/acme/bastion:2.1.0",
        ("10.9.0.2:443",),
    )
    assert [(s.name, s.mount) for s in bastion.stores] == [("dome-store", "/var/lib/bastion")]
    assert (topo.cloud_stack, topo.cloud_environment) == ("acme/ticketing/prod", "prod")
    assert topo.sync_url == "https://api.example-tickets.com/ticketing/sync"


def test_without_its_sync_url_a_venue_syncs_with_the_cloud_stacks_api_hostname() -> None:
    topo = venue_topology(venue_like(envs=Secret(["VENUE_ID=dome"])))
    assert topo.sync_url == "https://api.example-tickets.com"


def test_a_venue_stack_draws_its_host_and_one_node_for_the_cloud() -> None:
    g = deployment_graph(venue_like())
    assert [(c.id, c.label) for c in g.clusters] == [
        ("onprem", "On-Premise · venue dome\nDocker host tcp://10.9.0.2:2376")
    ]
    assert {n.id: n.cluster for n in g.nodes} == {
        "client_handheld": "onprem",
        "bastion": "onprem",
        "volume_dome_store": "onprem",
        "cloud_stack": None,
    }
    assert "LAN 10.9.0.2:443" in g.node("bastion").label.splitlines()
    assert "ghcr.io/acme/bastion:2.1.0" in g.node("bastion").label
    assert (
        g.node("volume_dome_store").label == "volume dome-store\n/var/lib/bastion · kept on delete"
    )
    assert g.node("cloud_stack").label == (
        "Cloud stack prod\nacme/ticketing/prod\nhttps://api.example-tickets.com/ticketing/sync"
    )
    assert {(e.tail, e.head, e.label) for e in g.edges} == {
        ("client_handheld", "bastion", "scans (LAN, TLS)"),
        ("bastion", "volume_dome_store", "offline store"),
        ("bastion", "cloud_stack", "cloud sync (HTTPS)"),
    }
    source = build_graph(venue_like()).source
    assert "s3cr3t" not in source and "dome-tls" not in source


def test_the_committed_venue_stack_draws_the_bastion_it_deploys(
    plan_of: Callable[[str], Plan],
) -> None:
    plan = plan_of("venue-dev-arena")
    g = deployment_graph(plan)
    assert [c.id for c in g.clusters] == ["onprem"]
    assert g.clusters[0].label == "On-Premise · venue arena\nDocker host ssh://deploy@10.20.0.5"
    bastion = g.node("bastion").label.splitlines()
    assert "container venue-arena-bastion" in bastion and "LAN 10.20.0.5:8443" in bastion
    assert "ghcr.io/example-tickets/bastion:2.1.0" in bastion
    assert g.node("volume_venue_arena_offline_store").cluster == "onprem"
    assert "example-tickets/ticketing/dev" in g.node("cloud_stack").label
    assert ("bastion", "cloud_stack") in edges(g) and ("client_handheld", "bastion") in edges(g)
    shown = "\n".join([c.label for c in g.clusters] + [n.label for n in g.nodes])
    assert "subnets" not in shown and not re.search(r"(^|\s)0 ", shown)
    source = build_graph(plan).source
    assert "SYNC_CREDENTIAL" not in source and "tls-files" not in source


def test_written_files_are_byte_identical_across_runs(tmp_path: Path) -> None:
    first = write_diagram(prod_like(), tmp_path / "one")
    second = write_diagram(prod_like(), tmp_path / "two")
    assert first.dot.read_bytes() == second.dot.read_bytes()
    assert str(tmp_path) not in first.dot.read_text()
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed: only the DOT source could be compared")
    assert first.svg is not None and second.svg is not None
    svg = first.svg.read_bytes()
    assert svg == second.svg.read_bytes()
    assert svg.lstrip().startswith(b"<?xml") and b"Ticketing API" in svg
    assert str(tmp_path).encode() not in svg


def test_the_source_states_the_digest_of_the_rest_and_the_svg_carries_it(tmp_path: Path) -> None:
    source = build_graph(prod_like()).source
    digest = embedded_digest(source)
    assert digest is not None and digest == source_digest(source)
    assert source_digest(source.replace("Redis", "Valkey")) != digest
    written = write_diagram(prod_like(), tmp_path)
    if written.svg is None:
        pytest.skip("Graphviz `dot` is not installed: no SVG to read the digest from")
    assert embedded_digest(written.svg.read_text(encoding="utf-8")) == digest


def test_without_dot_the_source_is_written_with_a_render_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-binaries"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "build" / "dev"
    out.mkdir(parents=True)
    (out / "deployment.svg").write_text("<svg>an earlier plan</svg>")
    result = write_diagram(prod_like(), out)
    assert result.svg is None
    assert result.dot.exists() and not (out / "deployment.svg").exists()
    assert result.hint == (
        f"dot not found: render with `dot -Tsvg {out}/deployment.dot -o {out}/deployment.svg`"
        " (apt-get install graphviz)"
    )


def test_a_cloud_stack_names_the_venues_it_serves(plan_of: Callable[[str], Plan]) -> None:
    # dev lists `arena` in ticketing:venues; its credential parameter is how the plan shows it.
    assert topology(plan_of("dev")).venues == ("arena",)
    assert topology(plan_of("prod")).venues == ("arena", "stadium")


def test_prod_counts_hostnames_not_records_and_labels_both_nlb_ports(
    plan_of: Callable[[str], Plan],
) -> None:
    prod = plan_of("prod")
    topo = topology(prod)
    # Three hostnames, each an A record per static IP.
    assert topo.proxied_hostnames == 3 < len(prod.of_type(DNS_RECORD))
    assert topo.nlb_ports == (443, 80)
    g = deployment_graph(prod)
    [to_alb] = [e for e in g.edges if (e.tail, e.head) == ("static_ip", "alb")]
    assert to_alb.label == "TCP 443, 80"
    assert "3 proxied hostnames" in g.node("cf_cdn").label


def test_a_bastion_per_venue(plan_of: Callable[[str], Plan]) -> None:
    assert (
        deployment_graph(plan_of("prod"))
        .node("bastion")
        .label.startswith("2 Bastions, one per venue\n")
    )
    assert deployment_graph(plan_of("dev")).node("bastion").label.startswith("Bastion\n")


# --- services on ECS Fargate ------------------------------------------------------------------


def test_services_on_fargate_are_drawn_in_ecs_not_on_a_host(ecs_plan: Plan) -> None:
    topo = topology(ecs_plan)
    assert [
        (f.service, f.desired, f.minimum, f.maximum, f.vcpu, f.memory_gb) for f in topo.fargate
    ] == [
        ("ticketing", 3, 2, 10, 0.5, 1.0),
        ("payments", 2, 2, 6, 0.25, 0.5),
    ]
    assert all(f.stores == ("Redis", "RabbitMQ") for f in topo.fargate)
    [host] = topo.app_hosts
    assert host.services == ("identity", "notifications")
    graph = deployment_graph(ecs_plan)
    on_ecs = {n.id for n in graph.in_cluster("ecs")}
    assert on_ecs == {
        f"{kind}_{service}"
        for service in ("ticketing", "payments")
        for kind in ("svc", "redis", "rabbitmq")
    }
    assert not {n.id for n in graph.in_cluster("host_shared_host_vm")} & on_ecs
    assert "3 tasks, 2 to 10 · 0.5 vCPU · 1 GB" in graph.node("svc_ticketing").label
    assert "data on EFS" in graph.node("rabbitmq_payments").label
    ecs = next(c for c in graph.clusters if c.id == "ecs")
    assert ecs.parent == "private"
    # The ALB routes to the tasks as it does to a host's containers; each reaches its own db.
    edges = {(e.tail, e.head) for e in graph.edges}
    assert {("alb", "svc_ticketing"), ("svc_ticketing", "db_ticketing")} <= edges
    assert ("svc_ticketing", "redis_payments") not in edges


def test_the_committed_stacks_draw_no_ecs(plan_of: Callable[[str], Plan]) -> None:
    for stack in ("dev", "prod"):
        assert topology(plan_of(stack)).fargate == ()
        assert "ecs" not in {c.id for c in deployment_graph(plan_of(stack)).clusters}
