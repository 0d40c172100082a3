"""The deployment diagram: derived from the plan and the catalog, deterministic, renderable."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from plan.diagram import DeploymentGraph, build_graph, deployment_graph, topology, write_diagram
from plan.model import Plan, Resource

STACK_URN = "urn:pulumi:prod::ticketing::pulumi:pulumi:Stack::ticketing-prod"


def resource(type_: str, name: str, /, **inputs: Any) -> Resource:
    return Resource(
        urn=f"urn:pulumi:prod::ticketing::{type_}::{name}",
        type=type_,
        name=name,
        custom=True,
        parent=STACK_URN,
        provider=None,
        inputs=inputs,
        outputs={},
    )


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
            name="/ticketing/prod/venues/arena/sync-credential",
        ),
        resource(
            "aws:ssm/parameter:Parameter",
            "venue-dome",
            name="/ticketing/prod/venues/dome/sync-credential",
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
    assert g.node("nat").label == "NAT instance · t4g.nano"
    assert g.node("nat").cluster == "public"
    assert ("svc_ticketing", "nat") in edges(g)


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
    assert g.node("nat").label == "3 NAT gateways"


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


def test_graphviz_source_is_left_to_right_with_clusters() -> None:
    source = build_graph(prod_like()).source
    assert "rankdir=LR" in source
    for cluster in ("cluster_cloudflare", "cluster_aws", "cluster_vpc", "cluster_onprem"):
        assert f"subgraph {cluster} {{" in source


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


def test_without_dot_the_source_is_written_with_a_render_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-binaries"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "build" / "dev"
    result = write_diagram(prod_like(), out)
    assert result.svg is None
    assert result.dot.exists() and not (out / "deployment.svg").exists()
    assert result.hint == (
        f"dot not found: render with `dot -Tsvg {out}/deployment.dot -o {out}/deployment.svg`"
        " (apt-get install graphviz)"
    )
