"""`NatInstance`: one small EC2 instance as the VPC's NAT, the cheap egress for dev."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.aws.instance_identity import session_manager_identity
from components.host.nat_user_data import render_nat_user_data
from components.outputs import ComponentOutputs

if TYPE_CHECKING:
    from components.aws.network import AwsNetworkArgs

AL2023_ARM64_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
ROOT_VOLUME_GB = 8  # the AL2023 AMI's own size; the NAT keeps no data
# The ports private hosts may leave the VPC on (AppHostFirewall's egress): the NAT
# admits only these; a rule for all protocols would also admit SSH to the NAT itself.
FORWARDED_PORTS: dict[int, str] = {443: "HTTPS", 80: "HTTP"}


# How the NAT gets its patches: by replacement. AL2023 instances stay on the repository
# version of their AMI (deterministic upgrades: an instance "doesn't automatically receive
# additional critical and important security updates", AL2023 User Guide), so
# dnf-automatic alone installs nothing new; and AL2023's dnf 4.14 has no `reboot` option
# (dnf 4.15 added it), so a kernel fix would never take effect. The AMI behind AWS's SSM
# parameter always carries the latest updates; the daily drift check shows a newer one as
# a change to the NAT, and the next deploy boots it. The NAT keeps no state.
PATCH_PATH = "replaced from the latest Amazon Linux 2023 AMI at the next deploy"


@dataclass(frozen=True)
class NatInstanceArgs:
    """Where the NAT runs and what it forwards.

    Attributes:
        vpc_id: the VPC.
        vpc_cidr: the VPC's CIDR: the only source admitted and masqueraded.
        subnet_id: the public subnet it runs in.
        instance_type: a Graviton type (`network.natInstanceType`).
    """

    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    subnet_id: pulumi.Input[str]
    instance_type: str

    @classmethod
    def of(
        cls,
        network: AwsNetworkArgs,
        *,
        vpc_id: pulumi.Input[str],
        vpc_cidr: str,
        subnet_id: pulumi.Input[str],
    ) -> NatInstanceArgs:
        return cls(vpc_id, vpc_cidr, subnet_id, network.nat_instance_type)


@dataclass(frozen=True)
class NatInstanceOutputs(ComponentOutputs):
    instance_id: pulumi.Output[str]
    network_interface_id: pulumi.Output[str]
    public_ip: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    """Its instance role, which the secrets key refuses."""


class NatInstance(pulumi.ComponentResource):
    """A NAT instance in a public subnet: egress for private subnets at a few dollars a month.

    The pattern fck-nat popularised, on AWS's own Amazon Linux 2023 (arm64, from
    AWS's public SSM parameter). Patched by replacement: a deploy after AWS
    publishes a new AMI replaces the NAT with one booted from it (see
    `PATCH_PATH`). Source/destination check off, IMDSv2 only, encrypted gp3 root
    volume, standard CPU credits (a burst never bills extra), no key pair and no
    SSH: Session Manager through an instance profile whose role holds the SSM
    agent's policy only (`ssm_agent_policy`): no parameter, no key. No public IP
    at launch; an Elastic IP is associated with its primary interface, so egress
    leaves from one stable address. Its group admits HTTPS and HTTP from the VPC
    only. One instance in one zone: no high availability, which is why prod
    refuses it.

    Args:
        name: prefix for every child's name.
        args: the VPC, its CIDR, the public subnet and the instance type.
        opts: must carry the stack's AWS provider.
    """

    outputs: NatInstanceOutputs

    def __init__(
        self, name: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:NatInstance", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vpc_cidr = args.vpc_cidr

        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="NAT instance: HTTPS and HTTP from the VPC only, no SSH",
            tags={"Name": f"{name}-sg"},
            opts=child,
        )
        for port, protocol in FORWARDED_PORTS.items():
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-vpc-{port}",
                security_group_id=group.id,
                cidr_ipv4=vpc_cidr,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{protocol} from the VPC, to forward to the internet",
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-egress-{port}",
                security_group_id=group.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{protocol} to the internet: traffic of the VPC, SSM agent, dnf",
                opts=child,
            )

        identity = session_manager_identity(name, "NAT instance: Session Manager only", child)

        ami = aws.ssm.get_parameter_output(
            name=AL2023_ARM64_AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self)
        ).insecure_value
        instance = aws.ec2.Instance(
            f"{name}-vm",
            ami=ami,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[group.id],
            iam_instance_profile=identity.profile.name,
            associate_public_ip_address=False,
            source_dest_check=False,
            credit_specification=aws.ec2.InstanceCreditSpecificationArgs(cpu_credits="standard"),
            maintenance_options=aws.ec2.InstanceMaintenanceOptionsArgs(auto_recovery="default"),
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3",
                volume_size=ROOT_VOLUME_GB,
                encrypted=True,
                delete_on_termination=True,
            ),
            user_data=render_nat_user_data(vpc_cidr),
            # User data runs at first boot only: a changed script needs a new NAT.
            user_data_replace_on_change=True,
            tags={"Name": name, "role": "nat"},
            # No ignore_changes on the AMI: a new one is how the NAT gets its patches.
            opts=child,
        )
        eip = aws.ec2.Eip(f"{name}-eip", domain="vpc", tags={"Name": f"{name}-egress"}, opts=child)
        aws.ec2.EipAssociation(
            f"{name}-eip",
            allocation_id=eip.allocation_id,
            network_interface_id=instance.primary_network_interface_id,
            # A replaced NAT's new association would find the address still associated
            # (Resource.AlreadyAssociated): the old one goes first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

        self.outputs = NatInstanceOutputs(
            instance_id=instance.id,
            network_interface_id=instance.primary_network_interface_id,
            public_ip=eip.public_ip,
            role_arn=identity.role.arn,
        )
        self.register_outputs(self.outputs.registered())
