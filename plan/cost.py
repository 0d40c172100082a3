"""The monthly cost of a stack, estimated from its captured plan and a dated on-demand price table.

`estimate` is pure: it counts what the plan registers (EC2 hours, EBS, RDS hours and
storage, AWS Backup recovery points, load balancers, NAT gateways or a NAT instance,
gateway endpoints (free), public IPv4 addresses, CloudWatch, Secrets Manager, SNS, KMS)
and prices each line from `plan/prices/<region>.yaml`. Usage that a plan cannot show
(log volume, load balancer capacity units, NAT gateway traffic, alarm e-mails) comes
from `Assumptions`; those that a line item rests on are printed with the table. The
part of each line that only buys high availability (a Multi-AZ standby, NAT gateways
beyond the first) is reported separately, so `prod` shows what its availability costs.
A NAT instance (an EC2 instance with source/destination check off) is a networking line
of its own, not an app host.

Not included: data transfer out, requests, restores, support, tax, and Cloudflare's plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.table import Table

from components.host import cloudwatch_agent
from components.settings import DEFAULT_REGION
from components.venue import sync as venue_sync
from plan.fargate import EFS_FILE_SYSTEM, FargateService, fargate_services
from plan.model import Plan, Resource, is_nat_instance, reveal
from plan.resource_types import (
    AWS_PROVIDER,
    BACKUP_PLAN,
    BACKUP_SELECTION,
    BACKUP_VAULT,
    BUCKET_LIFECYCLE,
    DASHBOARD,
    EBS_VOLUME,
    EC2_INSTANCE,
    EIP,
    FLOW_LOG,
    KMS_KEY,
    LOAD_BALANCER,
    LOG_GROUP,
    METRIC_ALARM,
    NAT_GATEWAY,
    RDS_INSTANCE,
    SECRETS_MANAGER_SECRET,
    SNS_TOPIC,
    SSM_DOCUMENT,
    SUBNET,
    VPC_ENDPOINT,
)
from seed import catalog

PRICES_DIR = Path(__file__).resolve().parent / "prices"
PRIVATE_DNS_NAMESPACE = "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"


class PriceError(Exception):
    """The price table is missing, invalid, or lacks a price the plan needs. One line."""


# --- the price table ---------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Url = str


class PriceList(_Strict):
    """Prices by key (an instance type, a volume type) from one pricing page."""

    source: Url = Field(pattern=r"^https://aws\.amazon\.com/")
    unit: str
    prices: dict[str, float]


class AzPriceList(_Strict):
    """RDS prices by key, Single-AZ and Multi-AZ deployments."""

    source: Url = Field(pattern=r"^https://aws\.amazon\.com/")
    unit: str
    single_az: dict[str, float]
    multi_az: dict[str, float]


class Price(_Strict):
    price: float = Field(ge=0)
    unit: str
    source: Url = Field(pattern=r"^https://aws\.amazon\.com/")


class Items(_Strict):
    alb_hour: Price
    alb_lcu_hour: Price
    nlb_hour: Price
    nlb_lcu_hour: Price
    nat_gateway_hour: Price
    nat_gateway_gb: Price
    vpc_gateway_endpoint_month: Price
    public_ipv4_hour: Price
    cloudwatch_alarm_month: Price
    cloudwatch_high_resolution_alarm_month: Price
    cloudwatch_custom_metric_month: Price
    cloudwatch_dashboard_month: Price
    cloudwatch_logs_ingestion_gb: Price
    cloudwatch_vended_logs_ingestion_gb: Price
    secrets_manager_secret_month: Price
    sns_email_notification: Price
    kms_key_month: Price
    s3_standard_gb_month: Price
    backup_rds_gb_month: Price
    backup_ebs_gb_month: Price
    inter_region_transfer_gb: Price


class FargatePrices(_Strict):
    """Fargate's per-hour rates for a task's vCPU and memory, Linux, by architecture."""

    source: Url = Field(pattern=r"^https://aws\.amazon\.com/")
    retrieved: date
    x86_vcpu_hour: float = Field(ge=0)
    x86_gb_hour: float = Field(ge=0)
    arm_vcpu_hour: float = Field(ge=0)
    arm_gb_hour: float = Field(ge=0)


class ServiceStoragePrices(_Strict):
    """What a service on Fargate adds around its tasks: EFS for its broker, Cloud Map."""

    efs_standard_gb_month: Price
    cloud_map_registered_resource_month: Price
    route53_hosted_zone_month: Price


class PriceTable(_Strict):
    """One region's on-demand prices, dated and sourced (`plan/prices/<region>.yaml`)."""

    region: str
    location: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    retrieved: date
    hours_per_month: float = Field(gt=0)
    ec2_instance_hour: PriceList
    ebs_gb_month: PriceList
    rds_postgresql_instance_hour: AzPriceList
    rds_storage_gb_month: AzPriceList
    items: Items
    fargate: FargatePrices | None = None
    service_storage: ServiceStoragePrices | None = None


def price_file(region: str) -> Path:
    return PRICES_DIR / f"{region}.yaml"


def load_prices(region: str = DEFAULT_REGION, path: Path | None = None) -> PriceTable:
    """The validated price table for `region`; PriceError names what is wrong."""
    path = path or price_file(region)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PRICES_DIR.glob("*.yaml")))
        raise PriceError(f"no price table for region {region} ({path.name}); available: {known}")
    try:
        table = PriceTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PriceError(f"{path.name}: {where}: {first['msg']}") from None
    if table.region != region:
        raise PriceError(f"{path.name}: region is {table.region}, expected {region}")
    return table


def region_of(plan: Plan) -> str:
    """The region of the plan's AWS provider (the settings' default region when it names
    none, as in a venue stack)."""
    for r in plan.resources:
        if r.type == AWS_PROVIDER and isinstance(r.inputs.get("region"), str):
            return str(r.inputs["region"])
    return DEFAULT_REGION


# --- assumptions ---------------------------------------------------------------------------


class Assumptions(_Strict):
    """Usage a plan cannot show. Each one a line item uses is printed with the estimate."""

    log_ingestion_gb_per_group: float = Field(default=0.5, ge=0)
    """GB a month ingested into each application log group."""
    flow_log_gb_per_flow_log: float = Field(default=1.0, ge=0)
    """GB a month each VPC flow log delivers to CloudWatch Logs."""
    lcu_per_load_balancer: float = Field(default=0.2, ge=0)
    """Average (N)LCUs each load balancer consumes: a quiet platform."""
    enhanced_monitoring_gb_per_instance: float = Field(default=0.5, ge=0)
    """GB a month of Enhanced Monitoring OS metrics an RDS instance sends to CloudWatch Logs
    at a 60 s interval (a shorter interval sends proportionally more)."""
    nat_gb_per_gateway: float = Field(default=5.0, ge=0)
    """GB a month each NAT gateway processes (image pulls, OS updates)."""
    alarm_emails_per_month: float = Field(default=100.0, ge=0)
    """E-mail notifications the alarm topics send in a month."""
    default_root_volume_gb: float = Field(default=8.0, gt=0)
    """Root volume of an instance whose plan sets no size (the AMI's default)."""
    efs_gb_per_file_system: float = Field(default=1.0, ge=0)
    """GB a month each EFS file system (a broker's data on Fargate) stores."""
    backup_stored_fraction: float = Field(default=1.0, ge=0)
    """What the recovery points of a database or volume hold in each vault, as a fraction of
    its allocated size (the first snapshot is full, later ones add only changed blocks)."""
    backup_copied_fraction: float = Field(default=0.6, ge=0)
    """What a month of daily copies sends to the second region, as a fraction of the
    allocated storage (2% of blocks changed a day)."""
    log_bucket_gb_per_day: float = Field(default=0.05, ge=0)
    """GB a day written to each log bucket (the ALB's gzipped access logs, a quiet
    platform); it holds that times its expiry in days."""

    @property
    def log_ingestion(self) -> str:
        return f"{self.log_ingestion_gb_per_group:g} GB/month logs per log group"

    @property
    def flow_log_volume(self) -> str:
        return f"{self.flow_log_gb_per_flow_log:g} GB/month per VPC flow log"

    @property
    def capacity_units(self) -> str:
        return f"{self.lcu_per_load_balancer:g} LCU average per load balancer"

    @property
    def enhanced_monitoring(self) -> str:
        return (
            f"{self.enhanced_monitoring_gb_per_instance:g} GB/month Enhanced Monitoring per "
            "RDS instance at 60 s"
        )

    @property
    def nat_traffic(self) -> str:
        return f"{self.nat_gb_per_gateway:g} GB/month through each NAT gateway"

    @property
    def alarm_emails(self) -> str:
        return f"{self.alarm_emails_per_month:g} alarm e-mails/month"

    @property
    def root_volume(self) -> str:
        return f"{self.default_root_volume_gb:g} GB root volume where an instance sets no size"

    @property
    def backup_storage(self) -> str:
        return (
            f"recovery points hold {self.backup_stored_fraction:g}x each backed-up database's or "
            "volume's size per vault"
        )

    @property
    def backup_copies(self) -> str:
        return (
            f"copies send {self.backup_copied_fraction:g}x its storage a month to the second region"
        )

    @property
    def log_bucket_volume(self) -> str:
        return f"{self.log_bucket_gb_per_day:g} GB/day written to each log bucket"

    @property
    def efs_storage(self) -> str:
        return f"{self.efs_gb_per_file_system:g} GB stored per EFS file system"


# --- the estimate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    """One priced line: `quantity` `unit`s at `unit_price` make `monthly`.

    `high_availability` is the part of `monthly` that only buys availability.
    `assumption` says which usage assumption the quantity rests on, if any, in the
    words of `Assumptions`.
    """

    category: str
    description: str
    quantity: float
    unit: str
    unit_price: float
    source: str
    high_availability: float = 0.0
    assumption: str | None = None
    low_quantity: float | None = None
    """The quantity at the autoscaling range's low end (None: it does not scale)."""
    high_quantity: float | None = None
    """The quantity at the autoscaling range's high end."""

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price

    @property
    def monthly_low(self) -> float:
        return (self.quantity if self.low_quantity is None else self.low_quantity) * self.unit_price

    @property
    def monthly_high(self) -> float:
        high = self.quantity if self.high_quantity is None else self.high_quantity
        return high * self.unit_price

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "description": self.description,
            "quantity": round(self.quantity, 4),
            "unit": self.unit,
            "unit_price": self.unit_price,
            "monthly": round(self.monthly, 2),
            "high_availability": round(self.high_availability, 2),
            "assumption": self.assumption,
            "source": self.source,
            **(
                {
                    "quantity_low": round(self.low_quantity, 4),
                    "quantity_high": round(self.high_quantity or 0.0, 4),
                    "monthly_low": round(self.monthly_low, 2),
                    "monthly_high": round(self.monthly_high, 2),
                }
                if self.low_quantity is not None
                else {}
            ),
        }


@dataclass(frozen=True)
class CostEstimate:
    stack: str
    region: str
    currency: str
    retrieved: date
    hours_per_month: float
    items: tuple[LineItem, ...]
    fargate_retrieved: date | None = None
    """When the Fargate prices were checked, where the estimate has Fargate lines."""

    @property
    def assumptions(self) -> tuple[str, ...]:
        """The usage assumptions the line items rest on, each once, in line order."""
        return tuple(dict.fromkeys(i.assumption for i in self.items if i.assumption))

    @property
    def total(self) -> float:
        return sum(i.monthly for i in self.items)

    @property
    def high_availability(self) -> float:
        return sum(i.high_availability for i in self.items)

    @property
    def scales(self) -> bool:
        """Some line follows an autoscaling range (services on Fargate)."""
        return any(i.low_quantity is not None for i in self.items)

    @property
    def total_low(self) -> float:
        """The month with every autoscaled service at its minimum count."""
        return sum(i.monthly_low for i in self.items)

    @property
    def total_high(self) -> float:
        """The month with every autoscaled service at its maximum count."""
        return sum(i.monthly_high for i in self.items)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, money rounded to cents."""
        return {
            "stack": self.stack,
            "region": self.region,
            "currency": self.currency,
            "prices_retrieved": self.retrieved.isoformat(),
            "price_table": f"plan/prices/{self.region}.yaml",
            "hours_per_month": self.hours_per_month,
            "items": [i.as_dict() for i in self.items],
            "total": round(self.total, 2),
            **(
                {"total_low": round(self.total_low, 2), "total_high": round(self.total_high, 2)}
                if self.scales
                else {}
            ),
            "high_availability": round(self.high_availability, 2),
            "assumptions": list(self.assumptions),
        }


def _num(value: Any, default: float = 0.0) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _lookup(prices: Mapping[str, float], key: str, what: str, table: PriceTable, src: str) -> float:
    if key not in prices:
        raise PriceError(
            f"plan/prices/{table.region}.yaml has no price for {what} {key}; add it from {src}"
        )
    return prices[key]


def _grouped(pairs: Iterable[tuple[Any, float]]) -> list[tuple[Any, float]]:
    """Sum quantities by key, keys in sorted order (stable output)."""
    sums: dict[Any, float] = {}
    for key, qty in pairs:
        sums[key] = sums.get(key, 0.0) + qty
    return sorted(sums.items(), key=lambda kv: str(kv[0]))


def estimate(
    plan: Plan, prices: PriceTable, assumptions: Assumptions | None = None
) -> CostEstimate:
    """Every monthly line item of `plan` priced from `prices`; PriceError if a price is missing.

    Lines come in a fixed order, one function per kind of charge: compute, storage,
    databases, load balancing, networking, CloudWatch, secrets and notifications, then
    services on Fargate.
    """
    region = region_of(plan)
    if region != prices.region:
        raise PriceError(f"the plan deploys to {region} but the price table is for {prices.region}")
    lines = _Lines(plan, prices, assumptions or Assumptions())
    instances = plan.of_type(EC2_INSTANCE)
    nat_instances = [r for r in instances if is_nat_instance(r)]
    databases = plan.of_type(RDS_INSTANCE)
    _app_hosts(lines, [r for r in instances if r not in nat_instances])
    _volumes(lines, instances)
    _rds_instances(lines, databases)
    _rds_storage(lines, databases)
    _rds_enhanced_monitoring(lines, databases)
    _backups(lines, databases)
    balancers = _load_balancers(lines)
    _nat_instances(lines, nat_instances)
    nats = _nat_gateways(lines)
    _gateway_endpoints(lines)
    _public_addresses(lines, balancers, nats, instances)
    _alarms_and_dashboards(lines)
    _agent_metrics(lines)
    _venue_metrics(lines)
    _log_ingestion(lines)
    _log_buckets(lines)
    _secrets_and_notifications(lines, databases)
    lines.items += _fargate_items(plan, prices, lines.assumptions)
    on_fargate = any(i.category == "Fargate" for i in lines.items)
    return CostEstimate(
        stack=plan.stack,
        region=prices.region,
        currency=prices.currency,
        retrieved=prices.retrieved,
        hours_per_month=prices.hours_per_month,
        items=tuple(lines.items),
        fargate_retrieved=prices.fargate.retrieved if prices.fargate and on_fargate else None,
    )


@dataclass
class _Lines:
    """The line items priced so far, and what pricing the next one needs."""

    plan: Plan
    prices: PriceTable
    assumptions: Assumptions
    items: list[LineItem] = field(default_factory=list[LineItem])

    @property
    def hours(self) -> float:
        return self.prices.hours_per_month

    def add(self, category: str, description: str, qty: float, price: Price, **kw: Any) -> None:
        """A line at one of the table's single prices (`items`)."""
        self.items.append(
            LineItem(category, description, qty, price.unit, price.price, price.source, **kw)
        )

    def add_keyed(
        self,
        category: str,
        description: str,
        qty: float,
        table: PriceList | AzPriceList,
        prices: Mapping[str, float],
        key: str,
        what: str,
        ha_share: float = 0.0,
        **kw: Any,
    ) -> None:
        """A line at `prices[key]` of a keyed price list; `ha_share` of it buys only
        availability."""
        price = _lookup(prices, key, what, self.prices, table.source)
        ha = qty * price * ha_share
        item = LineItem(category, description, qty, table.unit, price, table.source, ha, **kw)
        self.items.append(item)


def _app_hosts(lines: _Lines, hosts: list[Resource]) -> None:
    """EC2 instance hours by type (a NAT instance is priced under networking)."""
    ec2 = lines.prices.ec2_instance_hour
    for itype, n in _grouped((_text(r.inputs.get("instanceType"), "?"), 1) for r in hosts):
        description = f"EC2 {itype} (Linux)"
        lines.add_keyed("EC2", description, n * lines.hours, ec2, ec2.prices, itype, _EC2_TYPE)


def _volumes(lines: _Lines, instances: list[Resource]) -> None:
    """The root volumes of every instance and any extra EBS volumes, by volume type."""
    volumes: list[tuple[str, float]] = []
    sized_by_default: set[str] = set()  # volume types where a root volume's size is assumed
    for r in instances:
        root: Any = r.inputs.get("rootBlockDevice") or {}
        vtype = _text(root.get("volumeType"), "gp3")
        if _num(root.get("volumeSize"), -1.0) < 0:
            sized_by_default.add(vtype)
        volumes.append(
            (vtype, _num(root.get("volumeSize"), lines.assumptions.default_root_volume_gb))
        )
    volumes += [
        (_text(v.inputs.get("type"), "gp3"), _num(v.inputs.get("size")))
        for v in lines.plan.of_type(EBS_VOLUME)
    ]
    ebs = lines.prices.ebs_gb_month
    for vtype, gb in _grouped(volumes):
        assumed = lines.assumptions.root_volume if vtype in sized_by_default else None
        description = f"EBS {vtype} volumes"
        what = "EBS volume type"
        lines.add_keyed("EBS", description, gb, ebs, ebs.prices, vtype, what, assumption=assumed)


def _rds_instances(lines: _Lines, databases: list[Resource]) -> None:
    """RDS instance hours; a Multi-AZ standby doubles them and buys only availability."""
    rds = lines.prices.rds_postgresql_instance_hour
    for (db_class, multi_az), n in _grouped((_rds_class(r), 1.0) for r in databases):
        lines.add_keyed(
            "RDS",
            f"RDS PostgreSQL {db_class},{_az(multi_az)}",
            n * lines.hours,
            rds,
            rds.multi_az if multi_az else rds.single_az,
            db_class,
            "RDS PostgreSQL class" + _az(multi_az),
            ha_share=0.5 if multi_az else 0.0,
        )


def _rds_storage(lines: _Lines, databases: list[Resource]) -> None:
    """RDS storage by type; Multi-AZ doubles it too."""
    storage = lines.prices.rds_storage_gb_month
    disks = (
        (
            (_text(r.inputs.get("storageType"), "gp2"), bool(r.inputs.get("multiAz", False))),
            _num(r.inputs.get("allocatedStorage")),
        )
        for r in databases
    )
    for (stype, multi_az), gb in _grouped(disks):
        lines.add_keyed(
            "RDS",
            f"RDS {stype} storage,{_az(multi_az)}",
            gb,
            storage,
            storage.multi_az if multi_az else storage.single_az,
            stype,
            "RDS storage type" + _az(multi_az),
            ha_share=0.5 if multi_az else 0.0,
        )


def _backups(lines: _Lines, databases: list[Resource]) -> None:
    """AWS Backup: the selected databases' and EBS volumes' recovery points in each vault,
    and what the daily copy of both to a second region transfers."""
    plan, a, it = lines.plan, lines.assumptions, lines.prices.items
    selected = {
        str(arn) for s in plan.of_type(BACKUP_SELECTION) for arn in s.inputs.get("resources") or []
    }
    database_gb = sum(
        _num(r.inputs.get("allocatedStorage"))
        for r in databases
        if r.outputs.get("arn") in selected
    )
    volume_gb = sum(
        _num(v.inputs.get("size"))
        for v in plan.of_type(EBS_VOLUME)
        if v.outputs.get("arn") in selected
    )
    vaults = len(plan.of_type(BACKUP_VAULT))
    for kind, gb, price in (
        ("RDS", database_gb, it.backup_rds_gb_month),
        ("EBS", volume_gb, it.backup_ebs_gb_month),
    ):
        if gb:
            lines.add(
                "Storage",
                f"AWS Backup {kind} recovery points, {_n(vaults, 'vault')}",
                gb * vaults * a.backup_stored_fraction,
                price,
                assumption=a.backup_storage,
            )
    copies = any(
        rule.get("copyActions")
        for p in plan.of_type(BACKUP_PLAN)
        for rule in p.inputs.get("rules") or []
    )
    if copies and database_gb + volume_gb:
        lines.add(
            "Networking",
            "AWS Backup copies to a second region",
            (database_gb + volume_gb) * a.backup_copied_fraction,
            it.inter_region_transfer_gb,
            assumption=a.backup_copies,
        )


def _rds_enhanced_monitoring(lines: _Lines, databases: list[Resource]) -> None:
    """Enhanced Monitoring: RDS writes the OS metrics to CloudWatch Logs (RDSOSMetrics),
    billed as log ingestion; the volume scales with the interval."""
    a = lines.assumptions
    monitored = [
        _num(r.inputs.get("monitoringInterval"))
        for r in databases
        if _num(r.inputs.get("monitoringInterval"))
    ]
    if monitored:
        gb = sum(a.enhanced_monitoring_gb_per_instance * 60 / seconds for seconds in monitored)
        lines.add(
            "RDS",
            f"RDS Enhanced Monitoring logs, {_n(len(monitored), 'instance')}",
            gb,
            lines.prices.items.cloudwatch_logs_ingestion_gb,
            assumption=a.enhanced_monitoring,
        )


def _load_balancers(lines: _Lines) -> list[Resource]:
    """Load balancer hours plus the assumed capacity units; returns the balancers."""
    balancers = lines.plan.of_type(LOAD_BALANCER)
    nlbs = [b for b in balancers if b.inputs.get("loadBalancerType") == "network"]
    albs = [b for b in balancers if b not in nlbs]
    a, it, hours = lines.assumptions, lines.prices.items, lines.hours
    for found, kind, hour, units, lcu in (
        (albs, "Application Load Balancer", it.alb_hour, "ALB capacity units", it.alb_lcu_hour),
        (nlbs, "Network Load Balancer", it.nlb_hour, "NLB capacity units", it.nlb_lcu_hour),
    ):
        if found:
            lines.add("Load balancing", kind, len(found) * hours, hour)
            qty = len(found) * a.lcu_per_load_balancer * hours
            lines.add("Load balancing", units, qty, lcu, assumption=a.capacity_units)
    return albs + nlbs


def _nat_instances(lines: _Lines, nat_instances: list[Resource]) -> None:
    """A NAT instance: EC2 hours only, no per-GB processing charge (its EBS and Elastic IP
    are on their own lines)."""
    ec2 = lines.prices.ec2_instance_hour
    for itype, n in _grouped((_text(r.inputs.get("instanceType"), "?"), 1) for r in nat_instances):
        description = f"NAT instance {itype} (Linux)"
        qty = n * lines.hours
        lines.add_keyed("Networking", description, qty, ec2, ec2.prices, itype, _EC2_TYPE)


def _nat_gateways(lines: _Lines) -> list[Resource]:
    """NAT gateway hours and data; a gateway per AZ beyond the first buys only availability."""
    nats = lines.plan.of_type(NAT_GATEWAY)
    if nats:
        it = lines.prices.items
        extra = (len(nats) - 1) / len(nats)
        qty = len(nats) * lines.hours
        ha = qty * it.nat_gateway_hour.price * extra
        lines.add("Networking", "NAT gateway", qty, it.nat_gateway_hour, high_availability=ha)
        gb = len(nats) * lines.assumptions.nat_gb_per_gateway
        lines.add(
            "Networking",
            "NAT gateway data processed",
            gb,
            it.nat_gateway_gb,
            assumption=lines.assumptions.nat_traffic,
        )
    return nats


def _gateway_endpoints(lines: _Lines) -> None:
    """Gateway endpoints (S3, DynamoDB) are free; listed so the plan shows what S3 traffic skips."""
    gateway_endpoints = [
        e for e in lines.plan.of_type(VPC_ENDPOINT) if e.inputs.get("vpcEndpointType") == "Gateway"
    ]
    if gateway_endpoints:
        lines.add(
            "Networking",
            "VPC gateway endpoints (S3)",
            len(gateway_endpoints),
            lines.prices.items.vpc_gateway_endpoint_month,
        )


def _public_addresses(
    lines: _Lines, balancers: list[Resource], nats: list[Resource], instances: list[Resource]
) -> None:
    """Public IPv4: Elastic IPs, internet-facing load balancers without them, public instances."""
    addresses, ha_addresses = _public_ipv4(lines.plan, balancers, nats, instances)
    if addresses:
        price = lines.prices.items.public_ipv4_hour
        ha = ha_addresses * lines.hours * price.price
        qty = addresses * lines.hours
        lines.add("Networking", "Public IPv4 addresses", qty, price, high_availability=ha)


def _alarms_and_dashboards(lines: _Lines) -> None:
    """CloudWatch alarms by resolution (per metric), and dashboards."""
    it = lines.prices.items
    alarms = lines.plan.of_type(METRIC_ALARM)
    standard = sum(_alarm_metrics(r) for r in alarms if _num(r.inputs.get("period"), 60) >= 60)
    high_res = sum(_alarm_metrics(r) for r in alarms if _num(r.inputs.get("period"), 60) < 60)
    if standard:
        lines.add("CloudWatch", "Alarms (standard resolution)", standard, it.cloudwatch_alarm_month)
    if high_res:
        price = it.cloudwatch_high_resolution_alarm_month
        lines.add("CloudWatch", "Alarms (high resolution)", high_res, price)
    dashboards = lines.plan.of_type(DASHBOARD)
    if dashboards:
        lines.add("CloudWatch", "Dashboards", len(dashboards), it.cloudwatch_dashboard_month)


def _agent_metrics(lines: _Lines) -> None:
    """The custom metrics the app hosts' CloudWatch agents publish, read from the agent
    configuration each host's apply document applies."""
    count = 0
    for document in lines.plan.of_type(SSM_DOCUMENT):
        content = reveal(document.inputs.get("content"))
        if not isinstance(content, str):
            continue
        steps = json.loads(content).get("mainSteps", [])
        commands = [c for s in steps for c in s.get("inputs", {}).get("runCommand", [])]
        config = cloudwatch_agent.config_in_script(commands)
        count += len(cloudwatch_agent.published_metrics(config)) if config else 0
    if count:
        price = lines.prices.items.cloudwatch_custom_metric_month
        lines.add("CloudWatch", "Custom metrics (CloudWatch agent)", count, price)


def _venue_metrics(lines: _Lines) -> None:
    """The custom metrics the ticketing service publishes from the venues' heartbeats
    (`components.venue.sync`): one per metric and venue, counted from the alarms that
    watch them, since the service publishes exactly what they name."""
    watched = {
        (str(r.inputs.get("metricName")), json.dumps(r.inputs.get("dimensions"), sort_keys=True))
        for r in lines.plan.of_type(METRIC_ALARM)
        if r.inputs.get("namespace") == venue_sync.METRIC_NAMESPACE
    }
    if watched:
        price = lines.prices.items.cloudwatch_custom_metric_month
        lines.add("CloudWatch", "Custom metrics (venue heartbeats)", len(watched), price)


def _log_ingestion(lines: _Lines) -> None:
    """CloudWatch Logs ingestion: the log groups, and the VPC flow logs (vended logs)."""
    a, it = lines.assumptions, lines.prices.items
    flow_logs = [f for f in lines.plan.of_type(FLOW_LOG) if _to_cloudwatch(f)]
    groups = [g for g in lines.plan.of_type(LOG_GROUP) if not _is_flow_log_group(g)]
    if groups:
        lines.add(
            "CloudWatch",
            f"Log ingestion, {_n(len(groups), 'log group')}",
            len(groups) * a.log_ingestion_gb_per_group,
            it.cloudwatch_logs_ingestion_gb,
            assumption=a.log_ingestion,
        )
    if flow_logs:
        lines.add(
            "CloudWatch",
            f"VPC flow log ingestion, {_n(len(flow_logs), 'flow log')}",
            len(flow_logs) * a.flow_log_gb_per_flow_log,
            it.cloudwatch_vended_logs_ingestion_gb,
            assumption=a.flow_log_volume,
        )


def _log_buckets(lines: _Lines) -> None:
    """S3 storage of the buckets whose objects expire (the ALB's access logs): each holds
    what is written in a day times the days its lifecycle rule keeps it."""
    a = lines.assumptions
    kept_days = [
        days
        for lifecycle in lines.plan.of_type(BUCKET_LIFECYCLE)
        if (days := _expiry_days(lifecycle)) is not None
    ]
    if kept_days:
        lines.add(
            "Storage",
            f"S3 log storage, {_n(len(kept_days), 'bucket')}",
            sum(kept_days) * a.log_bucket_gb_per_day,
            lines.prices.items.s3_standard_gb_month,
            assumption=a.log_bucket_volume,
        )


def _expiry_days(lifecycle: Resource) -> float | None:
    """The longest expiry (days) among a lifecycle configuration's enabled rules."""
    days = [
        float(rule["expiration"]["days"])
        for rule in lifecycle.inputs.get("rules") or []
        if rule.get("status") == "Enabled" and (rule.get("expiration") or {}).get("days")
    ]
    return max(days) if days else None


def _secrets_and_notifications(lines: _Lines, databases: list[Resource]) -> None:
    """Secrets Manager (RDS-managed master passwords and explicit secrets), SNS alarm
    e-mails, KMS keys."""
    a, it, plan = lines.assumptions, lines.prices.items, lines.plan
    managed = sum(1 for r in databases if r.inputs.get("manageMasterUserPassword") is True)
    secrets = managed + len(plan.of_type(SECRETS_MANAGER_SECRET))
    if secrets:
        lines.add("Secrets", "Secrets Manager secrets", secrets, it.secrets_manager_secret_month)
    topics = plan.of_type(SNS_TOPIC)
    if topics:
        lines.add(
            "Notifications",
            f"SNS alarm e-mails, {_n(len(topics), 'topic')}",
            a.alarm_emails_per_month,
            it.sns_email_notification,
            assumption=a.alarm_emails,
        )
    keys = plan.of_type(KMS_KEY)
    if keys:
        lines.add("Secrets", "KMS customer managed keys", len(keys), it.kms_key_month)


_EC2_TYPE = "EC2 instance type"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _az(multi_az: bool) -> str:
    return " Multi-AZ" if multi_az else " Single-AZ"


def _rds_class(r: Resource) -> tuple[str, bool]:
    return _text(r.inputs.get("instanceClass"), "?"), bool(r.inputs.get("multiAz", False))


def _alarm_metrics(alarm: Resource) -> int:
    """Metrics an alarm is billed for: one, or each metric of a metric-math alarm."""
    queries: Any = alarm.inputs.get("metricQueries") or []
    metrics = sum(1 for q in queries if isinstance(q, Mapping) and "metric" in q)
    return max(metrics, 1)


def _to_cloudwatch(flow_log: Resource) -> bool:
    return (
        _text(flow_log.inputs.get("logDestinationType"), "cloud-watch-logs") == "cloud-watch-logs"
    )


def _is_flow_log_group(group: Resource) -> bool:
    """A flow log's destination group: its volume is the flow log's line, not a group's."""
    name = f"{group.name} {_text(group.inputs.get('name'), '')}".lower()
    return "flow" in name


def _public_ipv4(
    plan: Plan, balancers: list[Resource], nats: list[Resource], instances: list[Resource]
) -> tuple[int, int]:
    """Public IPv4 addresses, and how many of them only buy availability (NAT beyond one)."""
    addresses = len(plan.of_type(EIP))
    azs = len([s for s in plan.of_type(SUBNET) if _public_subnet(s)]) or 2
    for lb in balancers:
        if lb.inputs.get("internal") is True:
            continue
        mappings: Any = lb.inputs.get("subnetMappings") or []
        if any(isinstance(m, Mapping) and "allocationId" in m for m in mappings):
            continue  # on Elastic IPs, counted above
        subnets: Any = lb.inputs.get("subnets") or mappings
        addresses += len(subnets) or azs  # one address per zone the balancer is in
    for nat in nats:
        if "allocationId" not in nat.inputs and nat.inputs.get("connectivityType") != "private":
            addresses += 1
    addresses += sum(1 for i in instances if i.inputs.get("associatePublicIpAddress") is True)
    return addresses, max(len(nats) - 1, 0)


def _public_subnet(subnet: Resource) -> bool:
    tags: Any = reveal(subnet.inputs.get("tags")) or {}
    if isinstance(tags, Mapping) and "tier" in tags:
        return tags["tier"] == "public"
    return "public" in subnet.name


def _fargate_items(plan: Plan, prices: PriceTable, a: Assumptions) -> list[LineItem]:
    """Fargate vCPU-hours and GB-hours at the configured counts (an autoscaled API also at
    its range's ends), the brokers' EFS storage, the Cloud Map resources and namespace."""
    # By domain service in catalog order, then by name: registration order is not stable.
    services = sorted(fargate_services(plan), key=_catalog_order)
    if not services:
        return []
    fargate, extra = prices.fargate, prices.service_storage
    if fargate is None or extra is None:
        raise PriceError(
            f"plan/prices/{prices.region}.yaml has no Fargate prices; add `fargate` and "
            "`service_storage` from https://aws.amazon.com/fargate/pricing/"
        )
    hours = prices.hours_per_month
    items: list[LineItem] = []

    def pair(label: str, tasks: list[FargateService], scaled: bool) -> None:
        for what, unit, per_task in (
            ("vCPU", "vCPU-hour", lambda t: t.vcpu),
            ("memory", "GB-hour", lambda t: t.memory_gb),
        ):
            arm = any(t.arm for t in tasks)
            price = (
                (fargate.arm_vcpu_hour if arm else fargate.x86_vcpu_hour)
                if what == "vCPU"
                else (fargate.arm_gb_hour if arm else fargate.x86_gb_hour)
            )
            quantity = sum(t.desired * per_task(t) for t in tasks) * hours
            items.append(
                LineItem(
                    "Fargate",
                    f"Fargate {what}, {label}",
                    quantity,
                    unit,
                    price,
                    fargate.source,
                    low_quantity=sum(t.minimum * per_task(t) for t in tasks) * hours
                    if scaled
                    else None,
                    high_quantity=sum(t.maximum * per_task(t) for t in tasks) * hours
                    if scaled
                    else None,
                )
            )

    for service in (s for s in services if s.scales):
        size = f"{service.vcpu:g} vCPU, {service.memory_gb:g} GB"
        scaling = f"autoscaling {service.minimum} to {service.maximum}"
        counts = f"{service.desired} tasks of {size} ({scaling})"
        pair(f"{service.name}: {counts}", [service], scaled=True)
    fixed = [s for s in services if not s.scales]
    if fixed:
        pair(
            f"{sum(s.desired for s in fixed)} tasks of fixed count ({_names(fixed)})", fixed, False
        )

    file_systems = plan.of_type(EFS_FILE_SYSTEM)
    if file_systems:
        price = extra.efs_standard_gb_month
        items.append(
            LineItem(
                "Fargate",
                f"EFS Standard storage, {_n(len(file_systems), 'file system')}",
                len(file_systems) * a.efs_gb_per_file_system,
                price.unit,
                price.price,
                price.source,
                assumption=a.efs_storage,
            )
        )
    registered = [s for s in services if s.stores]
    if registered:
        price = extra.cloud_map_registered_resource_month
        tasks = sum(s.desired for s in registered)
        items.append(
            LineItem(
                "Fargate",
                f"Cloud Map registered tasks, {_n(tasks, 'task')}",
                tasks,
                price.unit,
                price.price,
                price.source,
            )
        )
    namespaces = plan.of_type(PRIVATE_DNS_NAMESPACE)
    if namespaces:
        price = extra.route53_hosted_zone_month
        items.append(
            LineItem(
                "Fargate",
                f"Route 53 private hosted zone of {_n(len(namespaces), 'Cloud Map namespace')}",
                len(namespaces),
                price.unit,
                price.price,
                price.source,
            )
        )
    return items


def _catalog_order(service: FargateService) -> tuple[int, str]:
    names = list(catalog.SERVICE_NAMES)
    return (names.index(service.owner) if service.owner in names else len(names), service.name)


def _names(services: list[FargateService]) -> str:
    return ", ".join(s.name for s in services)


# --- presentation ----------------------------------------------------------------------------


def _money(value: float, currency: str) -> str:
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{value:,.2f}"


def _unit_price(value: float, currency: str) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return ("$" if currency == "USD" else f"{currency} ") + text


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.2f}"


def cost_table(est: CostEstimate) -> Table:
    """The estimate as a rich table: every line, its HA share, the total."""
    cur = est.currency
    table = Table(
        title=f"Monthly cost estimate: {est.stack} ({est.region}, on-demand {cur})",
        caption=(
            f"Prices plan/prices/{est.region}.yaml, retrieved {est.retrieved.isoformat()}"
            + (f" (Fargate {est.fargate_retrieved.isoformat()})" if est.fargate_retrieved else "")
            + "; "
            f"{est.hours_per_month:g} h/month. "
            + (f"Assumed (*): {'; '.join(est.assumptions)}. " if est.assumptions else "")
            + "Not included: data transfer, requests, tax, Cloudflare."
        ),
        show_footer=True,
    )
    table.add_column("Item", footer="Total")
    table.add_column("Quantity", justify="right")
    table.add_column("Unit")
    table.add_column("Unit price", justify="right")
    table.add_column("Monthly", justify="right", footer=_money(est.total, cur))
    table.add_column("of which HA", justify="right", footer=_money(est.high_availability, cur))
    for index, i in enumerate(est.items):
        table.add_row(
            i.description + (" *" if i.assumption else ""),
            _quantity(i.quantity),
            i.unit,
            _unit_price(i.unit_price, cur),
            _money(i.monthly, cur),
            _money(i.high_availability, cur) if i.high_availability else "",
            end_section=est.scales and index == len(est.items) - 1,
        )
    for label, value in _range_rows(est):
        table.add_row(label, "", "", "", _money(value, cur), "")
    return table


def _range_rows(est: CostEstimate) -> list[tuple[str, float]]:
    """The total with every autoscaled service at the low and at the high end of its range."""
    if not est.scales:
        return []
    return [
        ("Total, autoscaling at its minimum", est.total_low),
        ("Total, autoscaling at its maximum", est.total_high),
    ]


def markdown_table(est: CostEstimate) -> str:
    """The estimate as a Markdown table (for the README and docs)."""
    cur = est.currency
    lines = [
        "| Item | Quantity | Unit | Unit price | Monthly | of which HA |",
        "|------|---------:|------|-----------:|--------:|------------:|",
    ]
    for i in est.items:
        ha = _money(i.high_availability, cur) if i.high_availability else ""
        lines.append(
            f"| {i.description}{' *' if i.assumption else ''} | {_quantity(i.quantity)} | "
            f"{i.unit} | {_unit_price(i.unit_price, cur)} | {_money(i.monthly, cur)} | {ha} |"
        )
    lines.append(
        f"| **Total** | | | | **{_money(est.total, cur)}** | {_money(est.high_availability, cur)} |"
    )
    lines += [f"| {label} | | | | {_money(value, cur)} | |" for label, value in _range_rows(est)]
    return "\n".join(lines) + "\n"
