"""The seed's deployment diagram for one stack, generated from its captured plan and the catalog.

`topology` reads what a cloud plan deploys in the seed's terms: from the captured resources
where they exist, from the catalog where a kind of resource is not in the plan (a plan
without load balancers still shows the seed's static IP and ALB, one without RDS the
shared PostgreSQL instance). `venue_topology` reads a venue plan: the Bastion container,
its store volume and the cloud stack its reference names. `deployment_graph` turns either
into clusters, nodes and edges, top to bottom in the order requests flow; `build_graph`
into a graphviz graph that states the digest of its own source; `write_diagram` writes the
DOT source and, when Graphviz's `dot` is installed, the SVG. Same plan, same bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from plan.fargate import fargate_services
from plan.identity_diagram import identity_parts, is_identity_plan
from plan.model import Plan, Resource, is_nat_instance, reveal
from plan.resource_types import (
    AWS_PROVIDER,
    CERTIFICATE,
    DASHBOARD,
    DNS_RECORD,
    DOCKER_CONTAINER,
    DOCKER_IMAGE,
    DOCKER_VOLUME,
    EC2_INSTANCE,
    EIP,
    LISTENER,
    LOAD_BALANCER,
    LOG_GROUP,
    METRIC_ALARM,
    NAT_GATEWAY,
    RDS_INSTANCE,
    RULESET,
    SSM_PARAMETER,
    STACK_REFERENCE,
    SUBNET,
    VPC,
)
from seed import catalog, naming

# Cloudflare ruleset phases -> the seed's edge service they implement, and what to call them.
EDGE_PHASES: dict[str, tuple[str, str]] = {
    "ddos_l7": ("DDoS Protection", "L7 DDoS rules"),
    "http_request_firewall_custom": ("WAF", "custom rules"),
    "http_request_firewall_managed": ("WAF", "managed rules"),
    "http_ratelimit": ("WAF", "rate limits"),
    "http_request_cache_settings": ("CDN", "cache rules"),
    "http_request_transform": ("CDN", "request transform"),
    "http_request_late_transform": ("CDN", "origin-lock header"),
}

# A venue's sync credential, wherever naming.ssm_venue_credential puts it.
_VENUE_PARAMETER = re.compile(
    "/" + re.escape(naming.venue_credential_key("VENUE")).replace("VENUE", "([^/]+)") + "$"
)


@dataclass(frozen=True)
class AppHost:
    """One EC2 Docker Compose VM and the domain services it runs."""

    name: str
    instance_type: str | None
    services: tuple[str, ...]
    from_catalog: bool = False
    dedicated: bool = False


@dataclass(frozen=True)
class DatabaseInstance:
    """One RDS PostgreSQL instance and the services whose database it holds."""

    name: str
    instance_class: str | None
    multi_az: bool
    services: tuple[str, ...]
    from_catalog: bool = False
    dedicated: bool = False


@dataclass(frozen=True)
class FargateTasks:
    """A domain service on ECS Fargate: its API's task counts and size, and its stores."""

    service: str
    desired: int
    minimum: int
    maximum: int
    vcpu: float
    memory_gb: float
    stores: tuple[str, ...]


@dataclass(frozen=True)
class Topology:
    """The deployment of one stack, as the seed's diagram shows it."""

    stack: str
    region: str | None
    vpc_cidr: str | None
    az_count: int
    public_subnets: int
    private_subnets: int
    nat_gateways: int
    static_ips: int
    """Elastic IPs on the NLB; 0 when the stack has no static-IP ingress."""
    nlb: bool
    alb: bool
    alb_internal: bool
    load_balancers_from_catalog: bool
    nlb_names: tuple[str, ...]
    """The plan's NLBs by resource name; () when it has none (or draws the catalog's)."""
    alb_names: tuple[str, ...]
    """The plan's ALBs by resource name; () likewise."""
    app_hosts: tuple[AppHost, ...]
    databases: tuple[DatabaseInstance, ...]
    edge_features: Mapping[str, tuple[str, ...]]
    """Seed edge service (CDN, WAF, DDoS Protection) -> what the plan's rulesets do for it."""
    proxied_hostnames: int
    """Distinct public names Cloudflare proxies (prod has one A record per static IP)."""
    certificates: int
    alarms: int
    dashboards: int
    log_groups: int
    venues: tuple[str, ...]
    bastions: int
    nat_instances: tuple[str | None, ...] = ()
    """Instance type of each NAT instance (dev's cheap egress instead of a NAT gateway)."""
    nlb_ports: tuple[int, ...] = ()
    """The NLB's TCP listener ports, forwarded to the ALB's listeners on the same ports."""
    fargate: tuple[FargateTasks, ...] = ()
    """The domain services that run on ECS Fargate instead of an app host."""

    def host_of(self, service: str) -> AppHost:
        return next(h for h in self.app_hosts if service in h.services)

    def database_of(self, service: str) -> DatabaseInstance:
        return next(d for d in self.databases if service in d.services)


def topology(plan: Plan) -> Topology:
    """The seed-level facts of `plan`, filled in from the catalog where the plan is silent."""
    subnets = plan.of_type(SUBNET)
    public = [s for s in subnets if _is_public_subnet(s)]
    zones = {str(s.inputs["availabilityZone"]) for s in subnets if "availabilityZone" in s.inputs}
    vpcs = plan.of_type(VPC)
    balancers = plan.of_type(LOAD_BALANCER)
    nlbs = [lb for lb in balancers if lb.inputs.get("loadBalancerType") == "network"]
    albs = [lb for lb in balancers if lb not in nlbs]
    nats = plan.of_type(NAT_GATEWAY)
    nat_instances = [r for r in plan.of_type(EC2_INSTANCE) if is_nat_instance(r)]
    static_ips = sum(_nlb_addresses(lb) for lb in nlbs)
    if nlbs and not static_ips:
        static_ips = max(len(plan.of_type(EIP)) - len(nats) - len(nat_instances), 0)
    phases = sorted({str(r.inputs.get("phase", "")) for r in plan.of_type(RULESET)})
    features: dict[str, list[str]] = {}
    for phase in phases:
        if phase in EDGE_PHASES:
            seed_service, what = EDGE_PHASES[phase]
            features.setdefault(seed_service, []).append(what)
    return Topology(
        stack=plan.stack,
        region=_region(plan),
        vpc_cidr=_str(vpcs[0].inputs.get("cidrBlock")) if vpcs else None,
        az_count=len(zones) or max(len(public), len(subnets) - len(public)),
        public_subnets=len(public),
        private_subnets=len(subnets) - len(public),
        nat_gateways=len(nats),
        static_ips=static_ips,
        nlb=bool(nlbs) or not balancers,
        alb=bool(albs) or not balancers,
        alb_internal=all(bool(lb.inputs.get("internal", False)) for lb in albs) if albs else True,
        load_balancers_from_catalog=not balancers,
        nlb_names=tuple(lb.name for lb in nlbs),
        alb_names=tuple(lb.name for lb in albs),
        app_hosts=_app_hosts(plan),
        databases=_databases(plan),
        edge_features={k: tuple(v) for k, v in sorted(features.items())},
        proxied_hostnames=len(
            {
                r.inputs.get("name")
                for r in plan.of_type(DNS_RECORD)
                if r.inputs.get("proxied") is True
            }
        ),
        nlb_ports=tuple(
            sorted(
                {
                    int(listener.inputs["port"])
                    for listener in plan.of_type(LISTENER)
                    if listener.inputs.get("protocol") == "TCP" and "port" in listener.inputs
                },
                reverse=True,
            )
        ),
        certificates=len(plan.of_type(CERTIFICATE)),
        alarms=len(plan.of_type(METRIC_ALARM)),
        dashboards=len(plan.of_type(DASHBOARD)),
        log_groups=len(plan.of_type(LOG_GROUP)),
        venues=_venues(plan),
        bastions=len(plan.of_type(DOCKER_CONTAINER)),
        nat_instances=tuple(_str(r.inputs.get("instanceType")) for r in nat_instances),
        fargate=_fargate(plan),
    )


def _fargate(plan: Plan) -> tuple[FargateTasks, ...]:
    """Per domain service on Fargate (catalog order): its API and the stores it runs there."""
    services = fargate_services(plan)
    found: list[FargateTasks] = []
    for name in catalog.SERVICE_NAMES:
        mine = [s for s in services if s.owner == name]
        api = next((s for s in mine if s.is_api), None)
        if api is None:
            continue
        runs = {store for s in mine for store in s.stores}
        stores = tuple(
            b.value for b in (catalog.Backing.REDIS, catalog.Backing.RABBITMQ) if b.value in runs
        )
        found.append(
            FargateTasks(
                name, api.desired, api.minimum, api.maximum, api.vcpu, api.memory_gb, stores
            )
        )
    return tuple(found)


def _region(plan: Plan) -> str | None:
    for r in plan.resources:
        if r.type == AWS_PROVIDER and isinstance(r.inputs.get("region"), str):
            return str(r.inputs["region"])
    return None


def _is_public_subnet(subnet: Resource) -> bool:
    """By its `tier` tag, else its name, else whether it maps public IPs on launch."""
    tags: Any = reveal(subnet.inputs.get("tags")) or {}
    if isinstance(tags, Mapping) and tags.get("tier") in ("public", "private"):
        return tags["tier"] == "public"
    if "public" in subnet.name or "private" in subnet.name:
        return "public" in subnet.name
    return bool(subnet.inputs.get("mapPublicIpOnLaunch", False))


def _nlb_addresses(nlb: Resource) -> int:
    mappings: Any = nlb.inputs.get("subnetMappings") or []
    return sum(1 for m in mappings if isinstance(m, Mapping) and "allocationId" in m)


def _service_of(plan: Plan, resource: Resource) -> str | None:
    """The domain service a resource is dedicated to, from its name, tags or service component.

    Names may carry the project and stack as a prefix (`ticketing-dev-...`), and the
    project shares its name with the ticketing service, so that prefix is ignored.
    """
    tags: Any = reveal(resource.inputs.get("tags")) or {}
    if isinstance(tags, Mapping) and tags.get("service") in catalog.SERVICE_NAMES:
        return str(tags["service"])
    found = _service_in_name(plan, resource.name)
    if found:
        return found
    parent = resource.parent
    while parent:
        try:
            owner = plan.by_urn(parent)
        except KeyError:
            return None
        if "service" in owner.type.lower():
            return _service_in_name(plan, owner.name)
        parent = owner.parent
    return None


def _service_in_name(plan: Plan, name: str) -> str | None:
    for prefix in (f"{plan.project}-{plan.stack}-", f"{plan.project}-{plan.stack}"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    tokens = re.split(r"[-_.:/]", name)
    hits = [t for t in tokens if t in catalog.SERVICE_NAMES]
    return hits[-1] if hits else None


def _assign(
    resources: Iterable[Resource], plan: Plan
) -> tuple[list[Resource], dict[str, list[str]]]:
    """Split resources into shared ones and dedicated ones (name -> the services it runs)."""
    shared: list[Resource] = []
    dedicated: dict[str, list[str]] = {}
    for r in resources:
        owner = _service_of(plan, r)
        if owner is None:
            shared.append(r)
        else:
            dedicated.setdefault(r.name, []).append(owner)
    return shared, dedicated


def _app_hosts(plan: Plan) -> tuple[AppHost, ...]:
    instances = [r for r in plan.of_type(EC2_INSTANCE) if not is_nat_instance(r)]
    shared, dedicated = _assign(instances, plan)
    types = {r.name: _str(r.inputs.get("instanceType")) for r in instances}
    on_fargate = {s.owner for s in fargate_services(plan) if s.is_api}
    claimed = {s for services in dedicated.values() for s in services} | on_fargate
    rest = tuple(s for s in catalog.SERVICE_NAMES if s not in claimed)
    hosts: list[AppHost] = []
    if shared:
        first = shared[0]
        hosts.append(AppHost(first.name, types[first.name], rest))
        hosts.extend(AppHost(r.name, types[r.name], ()) for r in shared[1:])
    elif rest:
        hosts.append(AppHost("app-host", None, rest, from_catalog=True))
    hosts.extend(
        AppHost(
            name,
            types[name],
            tuple(s for s in catalog.SERVICE_NAMES if s in services),
            dedicated=True,
        )
        for name, services in sorted(dedicated.items())
    )
    return tuple(hosts)


def _databases(plan: Plan) -> tuple[DatabaseInstance, ...]:
    instances = plan.of_type(RDS_INSTANCE)
    shared, dedicated = _assign(instances, plan)
    by_name = {r.name: r for r in instances}
    claimed = {s for services in dedicated.values() for s in services}
    rest = tuple(s for s in catalog.SERVICE_NAMES if s not in claimed)

    def of(r: Resource, services: tuple[str, ...], dedicated: bool = False) -> DatabaseInstance:
        multi_az = bool(r.inputs.get("multiAz", False))
        db_class = _str(r.inputs.get("instanceClass"))
        return DatabaseInstance(r.name, db_class, multi_az, services, dedicated=dedicated)

    found: list[DatabaseInstance] = []
    if shared:
        found.append(of(shared[0], rest))
        found.extend(of(r, ()) for r in shared[1:])
    elif rest:
        found.append(DatabaseInstance("postgres", None, False, rest, from_catalog=True))
    found.extend(
        of(by_name[name], tuple(s for s in catalog.SERVICE_NAMES if s in services), True)
        for name, services in sorted(dedicated.items())
    )
    return tuple(found)


def _venues(plan: Plan) -> tuple[str, ...]:
    venues: set[str] = set()
    for p in plan.of_type(SSM_PARAMETER):
        match = _VENUE_PARAMETER.search(str(p.inputs.get("name", "")))
        if match:
            venues.add(match.group(1))
    return tuple(sorted(venues))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- a venue stack: the Bastion on the venue's Docker host --------------------------------

CLOUD_PACKAGES = frozenset({"aws", "cloudflare"})
# The Bastion's settings the diagram shows; its environment also holds the sync credential.
_SHOWN_SETTINGS = ("VENUE_ID", "SYNC_URL")


@dataclass(frozen=True)
class StoreVolume:
    """A named Docker volume kept when its container or stack goes away: the venue's data."""

    name: str
    mount: str | None


@dataclass(frozen=True)
class VenueContainer:
    """One container on the venue's Docker host, where it is published and what it keeps."""

    name: str
    image: str | None
    published: tuple[str, ...]
    """`address:port` on the venue LAN, one per published port."""
    stores: tuple[StoreVolume, ...]
    settings: Mapping[str, str]
    """The `_SHOWN_SETTINGS` of its environment."""


@dataclass(frozen=True)
class VenueTopology:
    """A venue stack as its diagram shows it: the Docker host and the cloud stack it syncs with."""

    stack: str
    venue: str | None
    docker_host: str | None
    containers: tuple[VenueContainer, ...]
    cloud_stack: str | None
    """The `org/project/stack` whose outputs the venue reads its sync settings from."""
    cloud_environment: str | None
    sync_url: str | None


def is_venue_plan(plan: Plan) -> bool:
    """Containers on a Docker host and no AWS or Cloudflare resource: a venue stack."""
    cloud = any(r.package in CLOUD_PACKAGES for r in plan.resources if not r.is_provider)
    return bool(plan.of_type(DOCKER_CONTAINER)) and not cloud


def venue_topology(plan: Plan) -> VenueTopology:
    """The venue side from `plan`'s Docker resources, the cloud side from its stack reference."""
    # A container created only to hold files (never started) runs nothing: not drawn.
    running = [c for c in plan.of_type(DOCKER_CONTAINER) if c.inputs.get("start") is not False]
    # The Bastion (published on the LAN) first, then what runs beside it.
    running.sort(key=lambda c: not c.inputs.get("ports"))
    containers = tuple(_venue_container(plan, c) for c in running)
    hosts = sorted({h for c in plan.of_type(DOCKER_CONTAINER) if (h := _docker_host(plan, c))})
    refs = plan.of_type(STACK_REFERENCE)
    outputs: Any = reveal(refs[0].outputs.get("outputs")) if refs else None
    outputs = outputs if isinstance(outputs, Mapping) else {}
    hostnames: Any = outputs.get("publicHostnames")
    api = _str(hostnames.get("api")) if isinstance(hostnames, Mapping) else None

    def setting(key: str) -> str | None:
        return next((c.settings[key] for c in containers if c.settings.get(key)), None)

    return VenueTopology(
        stack=plan.stack,
        venue=setting("VENUE_ID"),
        docker_host=", ".join(hosts) or None,
        containers=containers,
        cloud_stack=(_str(refs[0].outputs.get("name")) or refs[0].name) if refs else None,
        cloud_environment=_str(outputs.get("environment")),
        sync_url=setting("SYNC_URL") or (f"https://{api}" if api else None),
    )


def _venue_container(plan: Plan, container: Resource) -> VenueContainer:
    images = {
        _str(r.outputs.get("imageId")): _str(r.inputs.get("name"))
        for r in plan.of_type(DOCKER_IMAGE)
    }
    kept = {_str(v.inputs.get("name")) for v in plan.of_type(DOCKER_VOLUME) if v.retain_on_delete}
    image = _str(container.inputs.get("image"))
    ports: Any = container.inputs.get("ports") or []
    published = tuple(
        f"{p.get('ip', '0.0.0.0')}:{p['external']:g}"
        for p in ports
        if isinstance(p, Mapping) and isinstance(p.get("external"), int | float)
    )
    volumes: Any = container.inputs.get("volumes") or []
    stores = tuple(
        StoreVolume(str(v["volumeName"]), _str(v.get("containerPath")))
        for v in volumes
        if isinstance(v, Mapping) and v.get("volumeName") in kept
    )
    envs: Any = reveal(container.inputs.get("envs")) or []
    pairs = (str(e).partition("=") for e in (envs if isinstance(envs, list) else []))
    settings = {k: v for k, _, v in pairs if k in _SHOWN_SETTINGS and v}
    return VenueContainer(
        name=_str(container.inputs.get("name")) or container.name,
        image=images.get(image) or image,
        published=published,
        stores=stores,
        settings=settings,
    )


def _docker_host(plan: Plan, container: Resource) -> str | None:
    """The `ssh://` or `tcp://` host of the Docker provider `container` is created through."""
    if not container.provider:
        return None
    try:
        provider = plan.by_urn(container.provider)
    except KeyError:
        return None
    return _str(provider.inputs.get("host"))


# --- the graph: clusters, nodes and traffic edges ---------------------------------------

# Cloudflare's services in the order a request meets them.
EDGE_ORDER = ("DDoS Protection", "WAF", "CDN")


@dataclass(frozen=True)
class Cluster:
    """A box in the picture: a provider boundary, the VPC, a subnet tier, a host."""

    id: str
    label: str
    parent: str | None
    kind: str
    nodes_last: bool = False
    """Draw its own nodes after (right of) the boxes inside it."""


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    cluster: str | None
    """None: drawn outside every box."""
    kind: str


@dataclass(frozen=True)
class Edge:
    """`tail` -> `head`; `kind` is traffic (requests), data (a service and its stores) or ops."""

    tail: str
    head: str
    label: str = ""
    kind: str = "traffic"
    tail_cluster: str | None = None
    """Draw the edge from this cluster's border instead of from `tail` (compound edge)."""
    minlen: int = 1
    """Rows from `tail` down to `head`, at least: 2 leaves a row between them."""


@dataclass(frozen=True)
class DeploymentGraph:
    title: str
    clusters: tuple[Cluster, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    rows: tuple[tuple[str, ...], ...] = ()
    """Node ids drawn side by side in one row."""
    below: tuple[tuple[str, str], ...] = ()
    """(upper, lower): `lower` is drawn in a row below `upper`, though no edge says so."""

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def in_cluster(self, cluster_id: str) -> list[Node]:
        """Nodes inside `cluster_id`, at any depth."""
        inside = {cluster_id}
        for c in self.clusters:  # parents come before children
            if c.parent in inside:
                inside.add(c.id)
        return [n for n in self.nodes if n.cluster in inside]


def _platforms(client: catalog.ClientApp) -> str:
    return " · ".join(client.platforms)


def _count(n: int, one: str, many: str) -> str:
    """`1 AZ`, `3 AZs`; no count when the plan has none (`public subnets`), never `0 ...`."""
    if n == 0:
        return many
    return f"{n} {one if n == 1 else many}"


def deployment_graph(plan: Plan) -> DeploymentGraph:
    """The seed's deployment diagram for `plan`'s stack, as plain data."""
    if is_venue_plan(plan):
        return venue_graph(plan)
    if is_identity_plan(plan):
        return identity_graph(plan)
    return _CloudDrawing(topology(plan)).graph(f"Deployment — stack {plan.stack}")


class _CloudDrawing:
    """A cloud stack's diagram, drawn in the order requests flow: clients and venues, the
    edge, the VPC's ingress and egress, the app hosts, the databases, then operations."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.clusters: list[Cluster] = []
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []

    def graph(self, title: str) -> DeploymentGraph:
        self._clients_and_venues()
        edge_ids = self._edge()
        entry, exit_ = edge_ids[0], edge_ids[-1]
        self._client_requests(entry)
        public, private = self._vpc()
        origin = self._ingress(exit_, public, private)
        self._egress(public)
        self._app_hosts(private, origin)
        self._fargate(private, origin)
        self._databases(private)
        self._operations(origin)
        return DeploymentGraph(
            title,
            tuple(self.clusters),
            tuple(self.nodes),
            tuple(self.edges),
            self._rows(edge_ids),
            below=((exit_, "acm"),),
        )

    def cluster(
        self, id_: str, label: str, parent: str | None, kind: str, nodes_last: bool = False
    ) -> str:
        self.clusters.append(Cluster(id_, label, parent, kind, nodes_last))
        return id_

    def node(self, id_: str, label: str, in_cluster: str, kind: str) -> str:
        self.nodes.append(Node(id_, label, in_cluster, kind))
        return id_

    def _clients_and_venues(self) -> None:
        """Clients and the venue network, where requests start."""
        clients = self.cluster("clients", "Clients", None, "clients")
        for c in catalog.CLIENTS:
            if c.hostname:  # clients without a public hostname live on the venue network
                self.node(f"client_{c.name}", f"{c.title}\n{_platforms(c)}", clients, "client")
        venue_label = "On-Premise\nvenue network"
        if self.topo.venues:
            venue_label += f"\nvenues: {', '.join(self.topo.venues)}"
        onprem = self.cluster("onprem", venue_label, None, "onprem")
        bastion = next(c for c in catalog.ON_PREM if c.name == "bastion")
        # One Bastion per venue, each deployed by its own venue stack.
        venues = len(self.topo.venues)
        title = f"{venues} {bastion.title}s, one per venue" if venues > 1 else bastion.title
        self.node("bastion", f"{title}\n{bastion.platform}", onprem, "onprem")
        for c in _lan_clients():
            self.node(f"client_{c.name}", f"{c.title}s\n{_platforms(c)}", onprem, "client")

    def _edge(self) -> list[str]:
        """Cloudflare, in the order a request meets its services; returns their node ids."""
        cf = self.cluster("cloudflare", "Cloudflare", None, "cloudflare")
        seed_edge = [p.service for p in catalog.CLOUDFLARE]
        order = [s for s in EDGE_ORDER if s in seed_edge] + [
            s for s in seed_edge if s not in EDGE_ORDER
        ]
        edge_ids: list[str] = []
        for service_name in order:
            lines = [service_name]
            if self.topo.edge_features.get(service_name):
                lines.append(" · ".join(self.topo.edge_features[service_name]))
            if service_name == "CDN" and self.topo.proxied_hostnames:
                hostnames = self.topo.proxied_hostnames
                lines.append(_count(hostnames, "proxied hostname", "proxied hostnames"))
            id_ = "cf_" + re.sub(r"\W+", "_", service_name.lower()).strip("_")
            edge_ids.append(self.node(id_, "\n".join(lines), cf, "edge"))
        self.edges.extend(Edge(a, b) for a, b in itertools.pairwise(edge_ids))
        return edge_ids

    def _client_requests(self, entry: str) -> None:
        for c in catalog.CLIENTS:
            if c.hostname:
                self.edges.append(Edge(f"client_{c.name}", entry, c.hostname))
        for c in _lan_clients():
            self.edges.append(Edge(f"client_{c.name}", "bastion", "scans (LAN, TLS)"))
        self.edges.append(Edge("bastion", entry, "api: cloud sync"))

    def _vpc(self) -> tuple[str, str]:
        """AWS: the VPC with its public and private subnets (their cluster ids)."""
        topo = self.topo
        aws = self.cluster("aws", "AWS" + (f" · {topo.region}" if topo.region else ""), None, "aws")
        vpc_label = "VPC" + (f" {topo.vpc_cidr}" if topo.vpc_cidr else "")
        if topo.az_count:
            vpc_label += f" · {_count(topo.az_count, 'AZ', 'AZs')}"
        vpc = self.cluster("vpc", vpc_label, aws, "vpc")
        public_label = _count(topo.public_subnets, "public subnet", "public subnets")
        public = self.cluster("public", public_label, vpc, "public")
        private_label = _count(topo.private_subnets, "private subnet", "private subnets")
        private = self.cluster("private", private_label, vpc, "private")
        return public, private

    def _ingress(self, exit_: str, public: str, private: str) -> str:
        """The static IPs and the ALB after the edge; returns the node that reaches the hosts."""
        topo = self.topo
        origin = exit_
        origin_label = "HTTPS, origin-lock header"
        if topo.nlb:
            ips = (
                f"NLB · {_count(topo.static_ips, 'Elastic IP', 'Elastic IPs')}"
                if topo.static_ips
                else "NLB"
            )
            self.node("static_ip", f"Static IP\n{ips}", public, "ip")
            self.edges.append(Edge(origin, "static_ip", origin_label, minlen=2))
            ports = ", ".join(str(p) for p in topo.nlb_ports) or "443"
            origin, origin_label = "static_ip", f"TCP {ports}"
        if topo.alb:
            where = private if topo.alb_internal else public
            reach = "internal" if topo.alb_internal else "internet-facing"
            self.node("alb", f"Load Balancer (ALB)\n{reach} · TLS", where, "lb")
            minlen = 2 if origin == exit_ else 1
            self.edges.append(Edge(origin, "alb", origin_label, minlen=minlen))
            origin = "alb"
        return origin

    def _egress(self, public: str) -> None:
        # Said in the label, not drawn: an edge up from the private subnets would cross the
        # ingress.
        egress = "\nprivate subnets' egress"
        if self.topo.nat_gateways:
            gateways = self.topo.nat_gateways
            nat = "NAT gateway" if gateways == 1 else f"{gateways} NAT gateways"
            self.node("nat", nat + egress, public, "nat")
        elif self.topo.nat_instances:
            self.node("nat", _nat_instance_label(self.topo.nat_instances) + egress, public, "nat")

    def _app_hosts(self, private: str, origin: str) -> None:
        topo = self.topo
        for host in topo.app_hosts:
            host_label = "App host" + (" (dedicated)" if host.dedicated else "") + " · EC2"
            if host.instance_type:
                host_label += f" {host.instance_type}"
            # An internet-facing ALB's line to the web sites enters the private subnets from
            # above: with the sites right of the service networks it clears the subnets' label.
            host_cluster = self.cluster(
                f"host_{_id(host.name)}",
                f"{host_label}\nDocker Compose",
                private,
                "host",
                nodes_last=topo.alb and not topo.alb_internal,
            )
            for name in host.services:
                self._service(name, host_cluster, origin)
            if host is topo.app_hosts[0] and catalog.WEB_CLIENTS:
                names = "\n".join(c.name for c in catalog.WEB_CLIENTS)
                self.node("web_static", f"Web static sites\n{names}", host_cluster, "service")
                hosts = ", ".join(c.hostname or c.name for c in catalog.WEB_CLIENTS)
                self.edges.append(Edge(origin, "web_static", hosts))

    def _service(self, name: str, host_cluster: str, origin: str) -> None:
        """One service's Compose network: the API and its own Redis and RabbitMQ."""
        svc = catalog.service(name)
        net = self.cluster(f"net_{name}", f"{name} network", host_cluster, "network")
        self.node(f"svc_{name}", f"{svc.title} API\napi {svc.path_prefix}/*", net, "service")
        self.edges.append(Edge(origin, f"svc_{name}"))
        for backing, store in (
            (catalog.Backing.REDIS, "redis"),
            (catalog.Backing.RABBITMQ, "rabbitmq"),
        ):
            if svc.uses(backing):
                self.node(f"{store}_{name}", backing.value, net, store)
                self.edges.append(Edge(f"svc_{name}", f"{store}_{name}", kind="data"))

    def _fargate(self, private: str, origin: str) -> None:
        """The domain services on ECS Fargate: each API's task counts and size, its stores."""
        if not self.topo.fargate:
            return
        ecs = self.cluster("ecs", "ECS · Fargate\ntasks in the private subnets", private, "ecs")
        for tasks in self.topo.fargate:
            svc = catalog.service(tasks.service)
            net = self.cluster(
                f"net_{tasks.service}", f"{tasks.service} security groups", ecs, "network"
            )
            size = f"{tasks.vcpu:g} vCPU · {tasks.memory_gb:g} GB"
            scaling = f"{tasks.desired} tasks, {tasks.minimum} to {tasks.maximum} · {size}"
            label = f"{svc.title} API\napi {svc.path_prefix}/*\n{scaling}"
            self.node(f"svc_{tasks.service}", label, net, "service")
            self.edges.append(Edge(origin, f"svc_{tasks.service}"))
            for store in tasks.stores:
                kind = "redis" if store == catalog.Backing.REDIS.value else "rabbitmq"
                shown = "Redis" if kind == "redis" else "RabbitMQ\ndata on EFS"
                self.node(f"{kind}_{tasks.service}", shown, net, kind)
                self.edges.append(
                    Edge(f"svc_{tasks.service}", f"{kind}_{tasks.service}", kind="data")
                )

    def _databases(self, private: str) -> None:
        for db in self.topo.databases:
            label = "RDS PostgreSQL · " + ("dedicated" if db.dedicated else "shared")
            if db.instance_class:
                label += f" · {db.instance_class}"
            if db.multi_az:
                label += " · Multi-AZ"
            rds = self.cluster(f"rds_{_id(db.name)}", label, private, "rds")
            for name in db.services:
                svc = catalog.service(name)
                self.node(f"db_{name}", svc.database, rds, "database")
                if svc.uses(catalog.Backing.POSTGRESQL):
                    self.edges.append(Edge(f"svc_{name}", f"db_{name}", kind="data"))

    def _operations(self, origin: str) -> None:
        """Certificate Manager at the ALB, CloudWatch below the VPC."""
        topo = self.topo
        self.node("acm", "Certificate Manager\nTLS certificate", "aws", "ops")
        self.edges.append(Edge("acm", "alb" if topo.alb else origin, "certificate", "ops"))
        watch = ["CloudWatch"]
        counts: list[str] = [
            _count(topo.alarms, "alarm", "alarms") if topo.alarms else "",
            _count(topo.log_groups, "log group", "log groups") if topo.log_groups else "",
            _count(topo.dashboards, "dashboard", "dashboards") if topo.dashboards else "",
        ]
        if any(counts):
            watch.append(" · ".join(c for c in counts if c))
        self.node("cloudwatch", "\n".join(watch), "aws", "ops")
        # The whole VPC reports to CloudWatch, drawn below it: the edge leaves the VPC's border.
        databases = [n.id for n in self.nodes if n.kind == "database"]
        self.edges.append(Edge(databases[0], "cloudwatch", "logs, metrics", "ops", "vpc"))

    def _rows(self, edge_ids: list[str]) -> tuple[tuple[str, ...], ...]:
        """Requests start at the top and reach the stores at the bottom. Certificate Manager
        sits in the row between the edge and the VPC, which the edge's line into it skips."""
        front = "static_ip" if self.topo.nlb else "alb"
        drawn = {n.id for n in self.nodes}
        return (
            tuple(n.id for n in self.nodes if n.kind == "client" or n.id == "bastion"),
            tuple(edge_ids),
            tuple(i for i in (front, "nat") if i in drawn),
            tuple(n.id for n in self.nodes if n.kind == "database"),
        )


def _lan_clients() -> list[catalog.ClientApp]:
    """Clients with no public hostname: on the venue network, talking to the Bastion."""
    return [c for c in catalog.CLIENTS if not c.hostname]


def venue_graph(plan: Plan) -> DeploymentGraph:
    """A venue stack: its Docker host with the Bastion, the handhelds, and one cloud node."""
    topo = venue_topology(plan)
    label = "On-Premise · venue" + (f" {topo.venue}" if topo.venue else " network")
    if topo.docker_host:
        label += f"\nDocker host {topo.docker_host}"
    clusters = [Cluster("onprem", label, None, "onprem")]
    nodes: list[Node] = []
    edges: list[Edge] = []
    bastion = next(c for c in catalog.ON_PREM if c.name == "bastion")
    handhelds = _lan_clients()
    for c in handhelds:
        nodes.append(Node(f"client_{c.name}", f"{c.title}s\n{_platforms(c)}", "onprem", "client"))
    cloud = "cloud_stack"
    lines = ["Cloud stack" + (f" {topo.cloud_environment}" if topo.cloud_environment else "")]
    lines += [x for x in (topo.cloud_stack, topo.sync_url) if x]
    nodes.append(Node(cloud, "\n".join(lines), None, "cloud"))
    drawn: set[str] = set()
    for i, container in enumerate(topo.containers):
        serves = bool(container.published)
        id_ = "bastion" if i == 0 else f"container_{_id(container.name)}"
        title = f"{bastion.title} · {bastion.platform}" if serves else "Store backup"
        lines = [title, f"container {container.name}"]
        lines += [container.image] if container.image else []
        lines += [f"LAN {', '.join(container.published)}"] if container.published else []
        nodes.append(Node(id_, "\n".join(lines), "onprem", "onprem"))
        if serves:
            for c in handhelds:
                edges.append(Edge(f"client_{c.name}", id_, "scans (LAN, TLS)"))
        for store in container.stores:
            store_id = f"volume_{_id(store.name)}"
            if store.name not in drawn:
                drawn.add(store.name)
                mount = store.mount if serves else None
                where = f"\n{mount} · kept on delete" if mount else "\nkept on delete"
                nodes.append(Node(store_id, f"volume {store.name}{where}", "onprem", "volume"))
            label = "offline store" if serves else "copies"
            edges.append(Edge(id_, store_id, label, "data"))
        if serves:
            edges.append(Edge(id_, cloud, "cloud sync (HTTPS)"))
    title = f"Deployment — stack {plan.stack}"
    return DeploymentGraph(title, tuple(clusters), tuple(nodes), tuple(edges))


def identity_graph(plan: Plan) -> DeploymentGraph:
    """A bootstrap stack: GitHub Actions, the OIDC provider, and each environment's roles
    with the token subjects their trust admits (`plan.identity_diagram`)."""
    parts = identity_parts(plan)
    roles: list[dict[str, Any]] = parts["roles"]
    repository = roles[0]["repository"] if roles else "the repository"
    clusters = [Cluster("aws", f"AWS · IAM{_in_region(plan)}", None, "aws")]
    nodes = [
        Node("github", f"GitHub Actions\n{repository}", None, "client"),
        Node("oidc", f"OIDC provider\n{parts['url']}\naudience sts.amazonaws.com", "aws", "edge"),
    ]
    edges = [Edge("github", "oidc", "OIDC token, sts:AssumeRoleWithWebIdentity")]
    for environment in dict.fromkeys(r["environment"] for r in roles):
        cluster = f"env_{environment}"
        clusters.append(Cluster(cluster, environment, "aws", "network"))
        for role in (r for r in roles if r["environment"] == environment):
            lines = [
                role["id"],
                *(role["subjects"]),
                *([role["managed"]] if role["managed"] else []),
            ]
            nodes.append(Node(_id(role["id"]), "\n".join(lines), cluster, "ops"))
            edges.append(Edge("oidc", _id(role["id"])))
    title = f"CI identity — stack {plan.stack}"
    return DeploymentGraph(title, tuple(clusters), tuple(nodes), tuple(edges))


def _in_region(plan: Plan) -> str:
    region = _region(plan)
    return f" (provider region {region})" if region else ""


def _nat_instance_label(types: tuple[str | None, ...]) -> str:
    """`NAT instance · t4g.nano`, or `2 NAT instances` (with their type when they share one)."""
    label = "NAT instance" if len(types) == 1 else f"{len(types)} NAT instances"
    kinds = set(types)
    if len(kinds) == 1 and None not in kinds:
        label += f" · {types[0]}"
    return label


def _id(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_")


# --- rendering -----------------------------------------------------------------------------

FONT = "Helvetica"

_CLUSTER_STYLE: dict[str, dict[str, str]] = {
    "clients": {"style": "rounded,filled", "fillcolor": "#eef2f7", "color": "#7b8ba1"},
    "onprem": {"style": "rounded,filled", "fillcolor": "#eaf5ea", "color": "#5b9a5b"},
    # Labelled on the right: requests enter its first service from above, on the left.
    "cloudflare": {
        "style": "rounded,filled",
        "fillcolor": "#fdf0e4",
        "color": "#f38020",
        "labeljust": "r",
    },
    "aws": {"style": "rounded,filled", "fillcolor": "#fffaf0", "color": "#ff9900"},
    "vpc": {"style": "rounded,dashed", "fillcolor": "#ffffff", "color": "#8c4fff"},
    "public": {"style": "rounded,filled", "fillcolor": "#eef7e9", "color": "#7aa116"},
    "private": {"style": "rounded,filled", "fillcolor": "#e8f1fb", "color": "#147eba"},
    "host": {"style": "rounded,filled", "fillcolor": "#ffffff", "color": "#d86613"},
    "network": {"style": "rounded,dashed", "fillcolor": "#ffffff", "color": "#a0a0a0"},
    "ecs": {"style": "rounded,filled", "fillcolor": "#ffffff", "color": "#ed7100"},
    "rds": {"style": "rounded,filled", "fillcolor": "#f3ecfb", "color": "#3b48cc"},
}

_NODE_STYLE: dict[str, dict[str, str]] = {
    "client": {"shape": "box", "fillcolor": "#ffffff"},
    "onprem": {"shape": "box3d", "fillcolor": "#ffffff"},
    "edge": {"shape": "box", "fillcolor": "#fbd5b0"},
    "ip": {"shape": "box", "fillcolor": "#d7ecc2"},
    "lb": {"shape": "box", "fillcolor": "#d7ecc2"},
    "nat": {"shape": "box", "fillcolor": "#f4f4f4"},
    "service": {"shape": "component", "fillcolor": "#fde3cf"},
    "redis": {"shape": "box", "fillcolor": "#f6d3d3"},
    "rabbitmq": {"shape": "box", "fillcolor": "#fbe5c8"},
    "database": {"shape": "cylinder", "fillcolor": "#dcd6f7"},
    "ops": {"shape": "note", "fillcolor": "#ffffff"},
    "volume": {"shape": "cylinder", "fillcolor": "#dcd6f7"},
    "cloud": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#fffaf0",
        "color": "#ff9900",
    },
}

_EDGE_STYLE: dict[str, dict[str, str]] = {
    "traffic": {"color": "#333333", "penwidth": "1.4"},
    "data": {"color": "#555555", "dir": "none"},
    "ops": {"color": "#999999", "style": "dashed", "fontcolor": "#777777"},
}


# A line's bend point, drawn in the line's colour so the line reads as one.
_VIA_STYLE = {"shape": "point", "width": "0.03", "color": "#555555", "fillcolor": "#555555"}


def build_graph(plan: Plan) -> graphviz.Digraph:
    """The diagram as a graphviz graph, top to bottom in the order traffic flows.

    Its last statement is the SHA-256 of everything before it (`source_digest`), which
    `dot` copies into the SVG as a comment: an SVG can be checked against its source.
    """
    data = deployment_graph(plan)
    g = _digraph(data.title)
    vias = _vias(data)
    _Boxes(data, vias).draw(g)
    for row in data.rows:
        _same_rank(g, list(row))
    for upper, lower in data.below:
        g.edge(upper, lower, style="invis")
    for e in data.edges:
        _draw_edge(g, e, vias.get(e))
    g.attr(comment=DIGEST_PREFIX + source_digest(g.source))
    return g


def _digraph(title: str) -> graphviz.Digraph:
    return graphviz.Digraph(
        name="deployment",
        graph_attr={
            "label": title,
            "labelloc": "t",
            "fontsize": "16",
            "fontname": FONT,
            "rankdir": "TB",
            "compound": "true",
            "newrank": "true",
            "nodesep": "0.18",
            "ranksep": "0.35",
            "pad": "0.2",
        },
        node_attr={"fontname": FONT, "fontsize": "11", "style": "filled", "margin": "0.1,0.04"},
        edge_attr={"fontname": FONT, "fontsize": "10"},
    )


class _Boxes:
    """The clusters, nested as the graph's data says, with their nodes inside."""

    def __init__(self, data: DeploymentGraph, vias: Mapping[Edge, str]) -> None:
        self.children: dict[str | None, list[Cluster]] = {}
        for c in data.clusters:
            self.children.setdefault(c.parent, []).append(c)
        self.members: dict[str | None, list[Node]] = {}
        for n in data.nodes:
            self.members.setdefault(n.cluster, []).append(n)
        self.vias = vias
        # A service, the point on its line and its database share a column.
        self.column = {n: e.tail for e, via in vias.items() for n in (e.tail, via, e.head)}

    def draw(self, g: graphviz.Digraph) -> None:
        for top in self.children.get(None, []):
            self._cluster(g, top)
        for n in self.members.get(None, []):
            g.node(n.id, n.label, **_NODE_STYLE[n.kind])

    def _cluster(self, parent: graphviz.Digraph, cluster: Cluster) -> None:
        with _subgraph(parent, f"cluster_{cluster.id}") as sub:
            style = {"labeljust": "l", **_CLUSTER_STYLE[cluster.kind]}
            sub.attr(label=_lines(cluster.label, style["labeljust"]), fontname=FONT, fontsize="11")
            sub.attr(**style)
            inner = self.children.get(cluster.id, [])
            for child in inner if cluster.nodes_last else ():
                self._cluster(sub, child)
            self._nodes(sub, cluster)
            for child in () if cluster.nodes_last else inner:
                self._cluster(sub, child)

    def _nodes(self, sub: Any, cluster: Cluster) -> None:
        nodes = self.members.get(cluster.id, [])
        for n in nodes:
            sub.node(n.id, n.label, **_NODE_STYLE[n.kind], **_group(self.column, n.id))
        if cluster.kind == "network":  # the service above one row of its stores
            row = [n.id for n in nodes if n.kind != "service"]
            for e, via in self.vias.items():
                if e.tail in {n.id for n in nodes}:
                    sub.node(via, "", **_VIA_STYLE, **_group(self.column, via))
                    row.append(via)
            _same_rank(sub, row)


def _draw_edge(g: graphviz.Digraph, e: Edge, via: str | None) -> None:
    """One edge; through its bend point `via`, where it has one."""
    attrs = dict(_EDGE_STYLE[e.kind])
    if e.tail_cluster:
        attrs["ltail"] = f"cluster_{e.tail_cluster}"
    if e.minlen != 1:
        attrs["minlen"] = str(e.minlen)
    if via:
        g.edge(e.tail, via, **attrs, headclip="false")
        g.edge(via, e.head, e.label or None, **attrs, tailclip="false")
    else:
        g.edge(e.tail, e.head, e.label or None, **attrs)


DIGEST_PREFIX = "deployment.dot sha256:"
_DIGEST = re.escape(DIGEST_PREFIX) + "([0-9a-f]{64})"
_DIGEST_STATEMENT = re.compile(f'^\tcomment="{_DIGEST}"\n', re.MULTILINE)


def source_digest(source: str) -> str:
    """The SHA-256 of DOT `source` without its own digest statement."""
    return hashlib.sha256(_DIGEST_STATEMENT.sub("", source).encode("utf-8")).hexdigest()


def embedded_digest(text: str) -> str | None:
    """The digest a DOT source states, or that `dot` copied into an SVG; None without one."""
    found = re.search(_DIGEST, text)
    return found.group(1) if found else None


def _vias(data: DeploymentGraph) -> dict[Edge, str]:
    """A point in the stores' row for each line from a service to a store outside its network.

    The line then runs down through its own network, not out through the network's side.
    """
    cluster_of = {n.id: n.cluster for n in data.nodes}
    networks = {c.id for c in data.clusters if c.kind == "network"}
    return {
        e: f"via_{e.tail}_{e.head}"
        for e in data.edges
        if e.kind == "data"
        and cluster_of.get(e.tail) in networks
        and cluster_of.get(e.head) != cluster_of.get(e.tail)
    }


def _group(column: Mapping[str, str], node_id: str) -> dict[str, str]:
    return {"group": column[node_id]} if node_id in column else {}


def _same_rank(graph: graphviz.Digraph, node_ids: list[str]) -> None:
    if len(node_ids) > 1:
        graph.body.append("\t{rank=same; " + " ".join(_q(n) for n in node_ids) + "}\n")


def _lines(label: str, justify: str) -> str:
    """A cluster label whose every line is aligned like the label: `\\l` (or `\\r`) line ends."""
    end = "\\r" if justify == "r" else "\\l"
    return "".join(line + end for line in label.split("\n"))


def _q(node_id: str) -> str:
    return graphviz.quoting.quote(node_id)


def _subgraph(parent: graphviz.Digraph, name: str) -> Any:
    # graphviz types `subgraph()` as Optional: it returns a context manager when given a name.
    return parent.subgraph(name=name)


@dataclass(frozen=True)
class DiagramResult:
    """What `write_diagram` wrote; `hint` says how to render when `dot` is missing."""

    dot: Path
    svg: Path | None
    hint: str | None


def write_diagram(plan: Plan, out_dir: Path) -> DiagramResult:
    """Write `deployment.dot` always and `deployment.svg` when Graphviz's `dot` exists.

    Without `dot` an SVG left from an earlier run is removed: it would show another plan.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    graph = build_graph(plan)
    dot_path = out_dir / "deployment.dot"
    svg_path = out_dir / "deployment.svg"
    dot_path.write_text(graph.source, encoding="utf-8")
    try:
        svg = graph.pipe(format="svg")
    except graphviz.ExecutableNotFound:
        svg_path.unlink(missing_ok=True)
        hint = (
            f"dot not found: render with `dot -Tsvg {dot_path} -o {svg_path}`"
            " (apt-get install graphviz)"
        )
        return DiagramResult(dot_path, None, hint)
    svg_path.write_bytes(svg)
    return DiagramResult(dot_path, svg_path, None)
