"""The cost estimator: pure arithmetic over captured resources and the committed price table.

Expected amounts are computed here by hand from the prices in plan/prices/eu-west-1.yaml
(quoted as literals), never from the estimator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from plan.cost import (
    Assumptions,
    CostEstimate,
    PriceError,
    cost_table,
    estimate,
    load_prices,
    markdown_table,
    price_file,
)
from plan.model import Plan, Resource
from tests.factories import resource

HOURS = 730


def plan_of(*resources: Resource, stack: str = "dev") -> Plan:
    aws = resource("pulumi:providers:aws", "aws", region="eu-west-1")
    return Plan(project="ticketing", stack=stack, resources=[aws, *resources])


def line(est: CostEstimate, description: str) -> Any:
    matches = [i for i in est.items if i.description == description]
    assert len(matches) == 1, [i.description for i in est.items]
    return matches[0]


@pytest.fixture(scope="module")
def prices() -> Any:
    return load_prices("eu-west-1")


def test_price_table_is_dated_sourced_and_for_its_region() -> None:
    raw = yaml.safe_load(price_file("eu-west-1").read_text())
    table = load_prices("eu-west-1")
    assert table.region == "eu-west-1" and table.currency == "USD"
    assert str(raw["retrieved"]) == table.retrieved.isoformat()
    assert table.hours_per_month == HOURS
    sections = [raw["ec2_instance_hour"], raw["ebs_gb_month"]]
    sections += [raw["rds_postgresql_instance_hour"], raw["rds_storage_gb_month"]]
    sections += list(raw["items"].values())
    for section in sections:
        assert section["source"].startswith("https://aws.amazon.com/"), section
    # The dev and prod defaults of components/settings/profiles.py must be priced.
    assert {"t3.medium", "m6i.large", "t4g.nano"} <= set(table.ec2_instance_hour.prices)
    assert {"db.t4g.micro", "db.t4g.medium"} <= set(table.rds_postgresql_instance_hour.multi_az)


def test_a_price_table_without_a_source_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(price_file("eu-west-1").read_text())
    del raw["items"]["alb_hour"]["source"]
    bad = tmp_path / "eu-west-1.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(PriceError, match=r"items\.alb_hour\.source: Field required"):
        load_prices("eu-west-1", bad)


def test_an_unknown_region_names_the_available_tables() -> None:
    with pytest.raises(PriceError, match=r"no price table for region ap-south-9 .*eu-west-1"):
        load_prices("ap-south-9")


def test_ec2_hours_and_root_volume(prices: Any) -> None:
    host = resource(
        "aws:ec2/instance:Instance",
        "app-host",
        instanceType="t3.medium",
        rootBlockDevice={"volumeSize": 30.0, "volumeType": "gp3"},
    )
    est = estimate(plan_of(host), prices)
    ec2 = line(est, "EC2 t3.medium (Linux)")
    assert ec2.quantity == HOURS
    assert ec2.monthly == pytest.approx(730 * 0.0456)  # 33.288
    assert line(est, "EBS gp3 volumes").monthly == pytest.approx(30 * 0.088)
    assert est.total == pytest.approx(33.288 + 2.64)


def test_a_root_volume_without_a_size_uses_the_assumed_default(prices: Any) -> None:
    host = resource("aws:ec2/instance:Instance", "h", instanceType="t3.small")
    est = estimate(plan_of(host), prices, Assumptions(default_root_volume_gb=8))
    assert line(est, "EBS gp3 volumes").monthly == pytest.approx(8 * 0.088)


def test_rds_multi_az_doubles_and_the_standby_is_the_ha_share(prices: Any) -> None:
    db = resource(
        "aws:rds/instance:Instance",
        "database",
        instanceClass="db.t4g.medium",
        multiAz=True,
        allocatedStorage=50.0,
        storageType="gp3",
        manageMasterUserPassword=True,
    )
    est = estimate(plan_of(db, stack="prod"), prices)
    hours = line(est, "RDS PostgreSQL db.t4g.medium, Multi-AZ")
    assert hours.monthly == pytest.approx(730 * 0.144)  # 105.12
    assert hours.high_availability == pytest.approx(730 * 0.144 / 2)
    disk = line(est, "RDS gp3 storage, Multi-AZ")
    assert disk.monthly == pytest.approx(50 * 0.254)
    assert disk.high_availability == pytest.approx(50 * 0.254 / 2)
    assert line(est, "Secrets Manager secrets").monthly == pytest.approx(0.40)
    assert est.high_availability == pytest.approx(52.56 + 6.35)


def test_single_az_rds_has_no_ha_share(prices: Any) -> None:
    db = resource(
        "aws:rds/instance:Instance",
        "database",
        instanceClass="db.t4g.micro",
        allocatedStorage=20.0,
    )
    est = estimate(plan_of(db), prices)
    assert line(est, "RDS PostgreSQL db.t4g.micro, Single-AZ").monthly == pytest.approx(730 * 0.018)
    # storageType unset: RDS's API default gp2
    assert line(est, "RDS gp2 storage, Single-AZ").monthly == pytest.approx(20 * 0.127)
    assert est.high_availability == 0
    assert not any(i.description.startswith("Secrets") for i in est.items)


def test_nat_per_az_counts_gateways_and_addresses_beyond_one_as_ha(prices: Any) -> None:
    rs: list[Resource] = []
    for z in "abc":
        rs.append(resource("aws:ec2/subnet:Subnet", f"public-{z}", tags={"tier": "public"}))
        rs.append(resource("aws:ec2/eip:Eip", f"nat-{z}", domain="vpc"))
        rs.append(resource("aws:ec2/natGateway:NatGateway", f"nat-{z}", allocationId=f"e{z}"))
    est = estimate(plan_of(*rs), prices, Assumptions(nat_gb_per_gateway=10))
    nat = line(est, "NAT gateway")
    assert nat.monthly == pytest.approx(3 * 730 * 0.048)  # 105.12
    assert nat.high_availability == pytest.approx(2 * 730 * 0.048)
    assert line(est, "NAT gateway data processed").monthly == pytest.approx(30 * 0.048)
    ips = line(est, "Public IPv4 addresses")
    assert ips.monthly == pytest.approx(3 * 730 * 0.005)
    assert ips.high_availability == pytest.approx(2 * 730 * 0.005)


def test_a_nat_instance_is_its_own_networking_line_with_its_volume_and_address(
    prices: Any,
) -> None:
    rs = [
        resource(
            "aws:ec2/instance:Instance",
            "app-host",
            instanceType="t3.medium",
            rootBlockDevice={"volumeSize": 30.0, "volumeType": "gp3"},
        ),
        resource(
            "aws:ec2/instance:Instance",
            "core-nat-vm",
            instanceType="t4g.nano",
            sourceDestCheck=False,
            associatePublicIpAddress=False,
            rootBlockDevice={"volumeSize": 8.0, "volumeType": "gp3"},
        ),
        resource("aws:ec2/eip:Eip", "core-nat-eip", domain="vpc"),
    ]
    est = estimate(plan_of(*rs), prices)
    nat = line(est, "NAT instance t4g.nano (Linux)")
    assert nat.category == "Networking"
    assert nat.monthly == pytest.approx(730 * 0.0046)  # 3.358
    assert line(est, "EC2 t3.medium (Linux)").quantity == HOURS  # the app host alone
    assert not any("t4g.nano" in i.description and i.category == "EC2" for i in est.items)
    assert line(est, "EBS gp3 volumes").quantity == 30 + 8
    # The Elastic IP is its one public address; no NAT gateway hours or data processing.
    assert line(est, "Public IPv4 addresses").quantity == HOURS
    assert not any(i.description.startswith("NAT gateway") for i in est.items)
    assert est.high_availability == 0


def test_load_balancers_and_their_public_addresses(prices: Any) -> None:
    nlb = resource(
        "aws:lb/loadBalancer:LoadBalancer",
        "nlb",
        loadBalancerType="network",
        subnetMappings=[
            {"subnetId": "a", "allocationId": "x"},
            {"subnetId": "b", "allocationId": "y"},
        ],
    )
    internal_alb = resource(
        "aws:lb/loadBalancer:LoadBalancer", "alb", loadBalancerType="application", internal=True
    )
    eips = [resource("aws:ec2/eip:Eip", f"ingress-{z}", domain="vpc") for z in "ab"]
    est = estimate(plan_of(nlb, internal_alb, *eips), prices, Assumptions(lcu_per_load_balancer=1))
    assert line(est, "Application Load Balancer").monthly == pytest.approx(730 * 0.0252)
    assert line(est, "Network Load Balancer").monthly == pytest.approx(730 * 0.0252)
    assert line(est, "ALB capacity units").monthly == pytest.approx(730 * 0.008)
    assert line(est, "NLB capacity units").monthly == pytest.approx(730 * 0.006)
    # Two Elastic IPs on the NLB; the internal ALB has none.
    assert line(est, "Public IPv4 addresses").quantity == 2 * HOURS


def test_an_internet_facing_alb_pays_one_address_per_subnet(prices: Any) -> None:
    alb = resource("aws:lb/loadBalancer:LoadBalancer", "alb", internal=False, subnets=["a", "b"])
    est = estimate(plan_of(alb), prices)
    assert line(est, "Public IPv4 addresses").monthly == pytest.approx(2 * 730 * 0.005)


def test_cloudwatch_alarms_dashboards_and_logs(prices: Any) -> None:
    rs = [
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "cpu", period=300.0),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "5xx", period=60.0),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", period=10.0),
        resource(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "ratio",
            metricQueries=[
                {"id": "a", "metric": {"metricName": "5xx"}},
                {"id": "b", "metric": {"metricName": "requests"}},
                {"id": "e", "expression": "a/b", "returnData": True},
            ],
        ),
        resource("aws:cloudwatch/dashboard:Dashboard", "dash", dashboardName="d"),
        resource("aws:cloudwatch/logGroup:LogGroup", "ticketing-logs"),
        resource("aws:cloudwatch/logGroup:LogGroup", "app-host-logs"),
        resource("aws:cloudwatch/logGroup:LogGroup", "core-flow-logs"),
        resource("aws:ec2/flowLog:FlowLog", "core-flow-log", logDestinationType="cloud-watch-logs"),
        resource("aws:sns/topic:Topic", "alarms"),
    ]
    a = Assumptions(log_ingestion_gb_per_group=2, flow_log_gb_per_flow_log=3)
    est = estimate(plan_of(*rs), prices, a)
    # cpu + 5xx + the two metrics of the metric-math alarm at standard resolution
    assert line(est, "Alarms (standard resolution)").monthly == pytest.approx(4 * 0.10)
    assert line(est, "Alarms (high resolution)").monthly == pytest.approx(0.30)
    assert line(est, "Dashboards").monthly == pytest.approx(3.00)
    # The flow log's own group is billed once, on the flow log line.
    assert line(est, "Log ingestion, 2 log groups").monthly == pytest.approx(2 * 2 * 0.57)
    assert line(est, "VPC flow log ingestion, 1 flow log").monthly == pytest.approx(3 * 0.57)
    assert line(est, "SNS alarm e-mails, 1 topic").monthly == pytest.approx(100 * 2.00 / 100_000)


def test_venue_heartbeats_are_priced_as_one_custom_metric_per_metric_and_venue(
    prices: Any,
) -> None:
    def alarm(name: str, metric: str, venue: str, namespace: str = "Ticketing/Venues") -> Resource:
        return resource(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            name,
            period=300.0,
            namespace=namespace,
            metricName=metric,
            dimensions={"Venue": venue},
        )

    rs = [
        alarm("arena-heartbeat", "BastionHeartbeat", "arena"),
        alarm("arena-certificate", "CertificateDaysLeft", "arena"),
        # A second alarm on a metric already counted adds no metric.
        alarm("arena-heartbeat-page", "BastionHeartbeat", "arena"),
        alarm("stadium-heartbeat", "BastionHeartbeat", "stadium"),
        # AWS's own metrics are free.
        alarm("cpu", "CPUUtilization", "arena", namespace="AWS/EC2"),
    ]
    metrics = line(estimate(plan_of(*rs), prices), "Custom metrics (venue heartbeats)")
    assert (metrics.quantity, metrics.unit_price) == (3, 0.30)
    assert not [
        i
        for i in estimate(plan_of(rs[-1]), prices).items
        if i.description == "Custom metrics (venue heartbeats)"
    ]


def test_a_missing_price_names_the_key_and_the_file(prices: Any) -> None:
    host = resource("aws:ec2/instance:Instance", "h", instanceType="x9.huge")
    with pytest.raises(PriceError, match=r"plan/prices/eu-west-1\.yaml has no price .* x9\.huge"):
        estimate(plan_of(host), prices)


def test_a_plan_in_another_region_is_refused(prices: Any) -> None:
    plan = Plan(
        project="ticketing",
        stack="dev",
        resources=[resource("pulumi:providers:aws", "aws", region="us-east-1")],
    )
    with pytest.raises(PriceError, match="deploys to us-east-1"):
        estimate(plan, prices)


def test_json_and_tables_carry_every_line_and_the_total(prices: Any) -> None:
    rs = [
        resource("aws:ec2/instance:Instance", "h", instanceType="t3.medium"),
        resource("aws:ec2/natGateway:NatGateway", "nat", allocationId="x"),
        resource("aws:ec2/eip:Eip", "nat", domain="vpc"),
    ]
    est = estimate(plan_of(*rs), prices)
    doc = json.loads(json.dumps(est.as_dict()))
    assert doc["total"] == round(
        730 * 0.0456 + 8 * 0.088 + 730 * 0.048 + 5 * 0.048 + 730 * 0.005, 2
    )
    assert doc["prices_retrieved"] == "2025-06-01"
    assert [i["description"] for i in doc["items"]] == [i.description for i in est.items]
    console = Console(record=True, width=160)
    console.print(cost_table(est))
    text = console.export_text()
    assert "Total" in text and f"${doc['total']:,.2f}" in text
    for item in est.items:
        assert item.description in text
    md = markdown_table(est)
    assert md.count("\n") == len(est.items) + 3
    assert f"**${doc['total']:,.2f}**" in md


def caption_of(est: CostEstimate) -> str:
    console = Console(record=True, width=1000)
    console.print(cost_table(est))
    return " ".join(console.export_text().split())


def test_only_the_assumptions_a_line_item_uses_are_printed(prices: Any) -> None:
    rs = [
        resource(
            "aws:ec2/instance:Instance",
            "core-nat-vm",
            instanceType="t4g.nano",
            sourceDestCheck=False,
            rootBlockDevice={"volumeSize": 8.0, "volumeType": "gp3"},
        ),
        resource("aws:cloudwatch/logGroup:LogGroup", "app-host-logs"),
    ]
    est = estimate(plan_of(*rs), prices)
    assert est.assumptions == ("0.5 GB/month logs per log group",)
    assert est.as_dict()["assumptions"] == ["0.5 GB/month logs per log group"]
    caption = caption_of(est)
    assert "Assumed (*): 0.5 GB/month logs per log group. Not included" in caption
    assert "NAT gateway" not in caption and "LCU" not in caption and "e-mails" not in caption

    gateway = resource("aws:ec2/natGateway:NatGateway", "nat", allocationId="x")
    with_gateway = estimate(plan_of(*rs, gateway), prices, Assumptions(nat_gb_per_gateway=7))
    assert with_gateway.assumptions == (
        "7 GB/month through each NAT gateway",
        "0.5 GB/month logs per log group",
    )
    assert line(with_gateway, "NAT gateway data processed").assumption == (
        "7 GB/month through each NAT gateway"
    )


def test_no_assumption_used_prints_none(prices: Any) -> None:
    host = resource(
        "aws:ec2/instance:Instance",
        "h",
        instanceType="t3.small",
        rootBlockDevice={"volumeSize": 20.0},
    )
    est = estimate(plan_of(host), prices)
    assert est.assumptions == ()
    assert "Assumed" not in caption_of(est)


def test_an_assumed_root_volume_size_is_said(prices: Any) -> None:
    sized = resource("aws:ec2/instance:Instance", "a", instanceType="t3.small")
    est = estimate(plan_of(sized), prices, Assumptions(default_root_volume_gb=12))
    assert line(est, "EBS gp3 volumes").assumption == (
        "12 GB root volume where an instance sets no size"
    )
    assert est.assumptions == ("12 GB root volume where an instance sets no size",)


def test_customer_managed_kms_keys_cost_a_dollar_a_month_each(prices: Any) -> None:
    keys = [
        resource("aws:kms/key:Key", "alarms-key", enableKeyRotation=True),
        resource("aws:kms/key:Key", "logs-key", enableKeyRotation=True),
    ]
    est = estimate(plan_of(*keys), prices)
    kms = line(est, "KMS customer managed keys")
    assert (kms.quantity, kms.unit, kms.unit_price) == (2, "key-month", 1.00)
    assert kms.monthly == pytest.approx(2 * 1.00)
    assert kms.source == "https://aws.amazon.com/kms/pricing/"
    assert est.total == pytest.approx(2.00)
    assert est.assumptions == ()


def test_a_log_bucket_holds_a_days_logs_times_its_expiry(prices: Any) -> None:
    def lifecycle(name: str, days: int, status: str = "Enabled") -> Resource:
        rule = {"id": "expire", "status": status, "expiration": {"days": days}}
        return resource(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", name, rules=[rule]
        )

    est = estimate(
        plan_of(lifecycle("a", 30), lifecycle("b", 90), lifecycle("c", 7, "Disabled")), prices
    )
    storage = line(est, "S3 log storage, 2 buckets")
    # 0.05 GB/day kept 30 and 90 days: 6 GB-month; S3 Standard $0.023/GB-month in eu-west-1.
    assert (storage.quantity, storage.unit, storage.unit_price) == (
        pytest.approx(6.0),
        "GB-month",
        0.023,
    )
    assert storage.monthly == pytest.approx(6.0 * 0.023)
    assert storage.source == "https://aws.amazon.com/s3/pricing/"
    assert est.assumptions == ("0.05 GB/day written to each log bucket",)


def test_committed_staging_and_prod_price_their_access_logs(plan_of: Any, prices: Any) -> None:
    # staging keeps 30 days, prod 90 (ingress.accessLogDays); dev writes none.
    for stack, gb in (("staging", 1.5), ("prod", 4.5)):
        assert line(
            estimate(plan_of(stack), prices), "S3 log storage, 1 bucket"
        ).quantity == pytest.approx(gb)
    assert not [
        i
        for i in estimate(plan_of("dev"), prices).items
        if i.category == "Storage" and "S3" in i.description
    ]


def test_backups_store_each_selected_database_and_volume_per_vault_and_copies_pay_transfer(
    prices: Any,
) -> None:
    def with_arn(r: Resource, arn: str) -> Resource:
        return Resource(**{**r.__dict__, "outputs": {"arn": arn}})

    def database(name: str, gb: int) -> Resource:
        db = resource(
            "aws:rds/instance:Instance", name, instanceClass="db.t4g.micro", allocatedStorage=gb
        )
        return with_arn(db, f"arn:aws:rds:eu-west-1:1:db:{name}")

    def volume(name: str, gb: int) -> Resource:
        vol = resource("aws:ebs/volume:Volume", name, size=gb, type="gp3")
        return with_arn(vol, f"arn:aws:ec2:eu-west-1:1:volume/vol-{name}")

    selected, other = database("shared", 100), database("elsewhere", 50)
    data, scratch = volume("data", 40), volume("scratch", 30)
    arns = [selected.outputs["arn"], data.outputs["arn"]]
    selection = resource("aws:backup/selection:Selection", "s", resources=arns)
    vaults = [resource("aws:backup/vault:Vault", "v"), resource("aws:backup/vault:Vault", "copy")]
    copying = resource(
        "aws:backup/plan:Plan", "p", rules=[{"copyActions": [{"destinationVaultArn": "x"}]}]
    )
    est = estimate(plan_of(selected, other, data, scratch, selection, *vaults, copying), prices)
    points = line(est, "AWS Backup RDS recovery points, 2 vaults")
    # 100 GB selected (not the other 50) in each of 2 vaults at $0.095/GB-month.
    assert (points.quantity, points.unit, points.unit_price) == (200, "GB-month", 0.095)
    assert points.source == "https://aws.amazon.com/backup/pricing/"
    snapshots = line(est, "AWS Backup EBS recovery points, 2 vaults")
    # 40 GB selected (not the 30 GB scratch volume) in each vault at $0.05/GB-month.
    assert (snapshots.quantity, snapshots.unit_price) == (80, 0.05)
    assert snapshots.monthly == pytest.approx(4.0)
    transfer = line(est, "AWS Backup copies to a second region")
    # 0.6 x (100 + 40) GB a month at $0.02/GB out of Ireland.
    assert (transfer.quantity, transfer.unit_price) == (pytest.approx(84), 0.02)
    assert transfer.monthly == pytest.approx(1.68)

    single = estimate(
        plan_of(selected, selection, vaults[0], resource("aws:backup/plan:Plan", "p", rules=[{}])),
        prices,
    )
    assert line(single, "AWS Backup RDS recovery points, 1 vault").quantity == 100
    assert not [i for i in single.items if i.description.startswith("AWS Backup EBS")]
    assert not [i for i in single.items if i.description.startswith("AWS Backup copies")]


def test_the_committed_prod_stack_prices_the_backup_of_its_data_volume(
    prod_plan: Plan, prices: Any
) -> None:
    """Pins the committed prod stack on purpose: its app host's data volume (RabbitMQ's
    queues) is in the backup selection, so its recovery points are in the estimate."""
    est = estimate(prod_plan, prices)
    selected = {
        arn
        for s in prod_plan.of_type("aws:backup/selection:Selection")
        for arn in s.inputs["resources"]
    }
    gb = sum(
        float(v.inputs["size"])
        for v in prod_plan.of_type("aws:ebs/volume:Volume")
        if v.outputs["arn"] in selected
    )
    assert gb > 0
    assert line(est, "AWS Backup EBS recovery points, 2 vaults").quantity == pytest.approx(2 * gb)


def test_the_committed_dev_stack_stays_within_its_budget(dev_plan: Plan, prices: Any) -> None:
    est = estimate(dev_plan, prices)
    assert est.total <= 100  # dollars a month, the target for dev
    assert est.high_availability == 0


def test_prod_shows_what_its_high_availability_costs(prod_plan: Plan, prices: Any) -> None:
    est = estimate(prod_plan, prices)
    assert est.high_availability > 0
    ha = {i.description for i in est.items if i.high_availability}
    assert any(d.startswith("RDS PostgreSQL") and "Multi-AZ" in d for d in ha)
    # One NAT gateway, in the app host's zone: a second would buy nothing the host could use.
    assert len(prod_plan.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert not any(d.startswith("NAT gateway") for d in ha)


# --- services on ECS Fargate --------------------------------------------------------------

# From plan/prices/eu-west-1.yaml's `fargate` and `service_storage` sections.
VCPU_HOUR, GB_HOUR = 0.04048, 0.004445


def test_fargate_prices_are_dated_and_sourced(prices: Any) -> None:
    assert prices.fargate.source == "https://aws.amazon.com/fargate/pricing/"
    assert prices.fargate.retrieved.isoformat() == "2026-12-03"
    assert (prices.fargate.x86_vcpu_hour, prices.fargate.x86_gb_hour) == (VCPU_HOUR, GB_HOUR)


def test_the_ecs_stack_prices_each_api_at_its_counts_and_range(ecs_plan: Plan, prices: Any) -> None:
    est = estimate(ecs_plan, prices)
    # ticketing: 0.5 vCPU, 1 GB; 3 tasks, autoscaling 2 to 10 (tests/conftest.py).
    vcpu = line(est, "Fargate vCPU, ticketing-api: 3 tasks of 0.5 vCPU, 1 GB (autoscaling 2 to 10)")
    assert (vcpu.quantity, vcpu.low_quantity, vcpu.high_quantity) == (
        3 * 0.5 * HOURS,
        2 * 0.5 * HOURS,
        10 * 0.5 * HOURS,
    )
    assert (vcpu.unit, vcpu.unit_price) == ("vCPU-hour", VCPU_HOUR)
    memory = line(
        est, "Fargate memory, ticketing-api: 3 tasks of 0.5 vCPU, 1 GB (autoscaling 2 to 10)"
    )
    assert (memory.quantity, memory.unit, memory.unit_price) == (3 * 1 * HOURS, "GB-hour", GB_HOUR)
    # payments on the defaults: 0.25 vCPU, 0.5 GB; 2 tasks, 2 to 6.
    payments = line(
        est, "Fargate vCPU, payments-api: 2 tasks of 0.25 vCPU, 0.5 GB (autoscaling 2 to 6)"
    )
    assert payments.high_quantity == 6 * 0.25 * HOURS
    # Redis 0.25 vCPU / 0.5 GB and RabbitMQ 0.25 vCPU / 1 GB, one task each, per service.
    stores = [i for i in est.items if "tasks of fixed count" in i.description]
    assert [(i.unit, i.quantity, i.low_quantity) for i in stores] == [
        ("vCPU-hour", 4 * 0.25 * HOURS, None),
        ("GB-hour", (2 * 0.5 + 2 * 1) * HOURS, None),
    ]
    efs = line(est, "EFS Standard storage, 2 file systems")
    assert (efs.quantity, efs.unit_price, efs.assumption) == (
        2.0,
        0.33,
        "1 GB stored per EFS file system",
    )
    assert line(est, "Cloud Map registered tasks, 4 tasks").monthly == pytest.approx(0.40)
    assert line(est, "Route 53 private hosted zone of 1 Cloud Map namespace").monthly == 0.5


def test_the_autoscaling_range_moves_only_the_api_lines(ecs_plan: Plan, prices: Any) -> None:
    est = estimate(ecs_plan, prices)
    per_task_ticketing = (0.5 * VCPU_HOUR + 1 * GB_HOUR) * HOURS
    per_task_payments = (0.25 * VCPU_HOUR + 0.5 * GB_HOUR) * HOURS
    assert est.scales
    assert est.total_low == pytest.approx(est.total - 1 * per_task_ticketing)
    assert est.total_high == pytest.approx(
        est.total + 7 * per_task_ticketing + 4 * per_task_payments
    )
    table = markdown_table(est).splitlines()
    assert table[-2] == f"| Total, autoscaling at its minimum | | | | ${est.total_low:,.2f} | |"
    assert table[-1] == f"| Total, autoscaling at its maximum | | | | ${est.total_high:,.2f} | |"
    document = est.as_dict()
    assert (document["total_low"], document["total_high"]) == (
        round(est.total_low, 2),
        round(est.total_high, 2),
    )
    console = Console(width=200, record=True)
    console.print(cost_table(est))
    text = console.export_text()
    assert "Total, autoscaling at its maximum" in text and "(Fargate 2026-12-03)" in text


def test_a_stack_on_hosts_has_no_fargate_line_and_no_range(dev_plan: Plan, prices: Any) -> None:
    est = estimate(dev_plan, prices)
    assert not est.scales and not [i for i in est.items if i.category == "Fargate"]
    assert "autoscaling" not in markdown_table(est)
    assert "total_low" not in est.as_dict()


def test_a_gateway_endpoint_is_a_free_line_and_an_interface_endpoint_is_not_it(
    prices: Any,
) -> None:
    gateway = resource(
        "aws:ec2/vpcEndpoint:VpcEndpoint", "s3", vpcEndpointType="Gateway", serviceName="s3"
    )
    interface = resource("aws:ec2/vpcEndpoint:VpcEndpoint", "ssm", vpcEndpointType="Interface")
    est = estimate(plan_of(gateway, interface), prices)
    endpoints = line(est, "VPC gateway endpoints (S3)")
    assert (endpoints.quantity, endpoints.unit, endpoints.unit_price) == (1, "endpoint-month", 0)
    assert endpoints.source == "https://aws.amazon.com/privatelink/pricing/"
    assert est.total == 0


def test_enhanced_monitoring_is_priced_as_log_ingestion_scaled_by_its_interval(
    prices: Any,
) -> None:
    every_minute = resource(
        "aws:rds/instance:Instance", "a", instanceClass="db.t4g.micro", monitoringInterval=60
    )
    every_15s = resource(
        "aws:rds/instance:Instance", "b", instanceClass="db.t4g.micro", monitoringInterval=15
    )
    off = resource("aws:rds/instance:Instance", "c", instanceClass="db.t4g.micro")
    est = estimate(plan_of(every_minute, every_15s, off), prices)
    logs = line(est, "RDS Enhanced Monitoring logs, 2 instances")
    # 0.5 GB/month at 60 s, four times that at 15 s; CloudWatch Logs ingestion $0.57/GB.
    assert logs.quantity == pytest.approx(0.5 + 2.0)
    assert logs.unit_price == 0.57
    assert logs.monthly == pytest.approx(2.5 * 0.57)
    assert "0.5 GB/month Enhanced Monitoring per RDS instance at 60 s" in est.assumptions
