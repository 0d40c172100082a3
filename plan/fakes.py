"""What the offline plan's fake cloud answers: invoke results and computed outputs.

The answers are realistic in shape (ARNs, ids, DNS names, Cloudflare's real
published ranges) so the program's wiring runs exactly as it would, but they
are invented. Nothing here contacts a network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from plan import fake_tls
from seed import cloudflare_ranges

ACCOUNT_ID = "123456789012"
AMI_ID = "ami-0a1b2c3d4e5f60718"

# Cloudflare's published ranges, as get_ip_ranges returns them.
CLOUDFLARE_IPV4 = list(cloudflare_ranges.IPV4)
CLOUDFLARE_IPV6 = list(cloudflare_ranges.IPV6)


def digest(*parts: str, length: int = 17) -> str:
    """A stable hex string for a resource, so ids do not change run to run."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def invoke(token: str, args: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The result of a data-source call, keyed by engine (camelCase) names."""
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        names = [f"{region}{z}" for z in "abc"]
        return {"names": names, "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)], "id": region}
    if token == "aws:index/getRegion:getRegion":
        return {
            "region": region,
            "name": region,
            "id": region,
            "endpoint": f"ec2.{region}.amazonaws.com",
        }
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": ACCOUNT_ID,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-plan",
            "userId": "AIDAOFFLINEPLAN",
            "id": ACCOUNT_ID,
        }
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if token == "aws:ssm/getParameter:getParameter":
        name = str(args.get("name", ""))
        return {
            "name": name,
            "type": "String",
            "value": AMI_ID,
            "insecureValue": AMI_ID,
            "id": name,
        }
    if token == "cloudflare:index/getIpRanges:getIpRanges":
        return {"ipv4Cidrs": CLOUDFLARE_IPV4, "ipv6Cidrs": CLOUDFLARE_IPV6, "etag": "offline"}
    if token == "cloudflare:index/getZone:getZone":
        zone_id = str(args.get("zoneId", "0" * 32))
        return {"id": zone_id, "zoneId": zone_id, "name": "example.com", "status": "active"}
    raise KeyError(token)


StateFn = Callable[[str, Mapping[str, Any], str], dict[str, Any]]


def _arn(service: str, kind: str, name: str, region: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{kind}/{name}"


def _eip(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    n = int(digest(name, length=4), 16)
    return {
        "allocationId": f"eipalloc-{digest(name)}",
        "publicIp": f"198.51.100.{n % 250 + 1}",
        "domain": "vpc",
    }


def _load_balancer(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    kind = "net" if inputs.get("loadBalancerType") == "network" else "app"
    suffix = f"{kind}/{name}/{digest(name, length=16)}"
    prefix = "internal-" if inputs.get("internal") else ""
    return {
        "arn": _arn("elasticloadbalancing", "loadbalancer", suffix, region),
        "arnSuffix": suffix,
        "dnsName": f"{prefix}{name}-{digest(name, length=8)}.{region}.elb.amazonaws.com",
        "zoneId": "Z32O12XQLNTSW2",
    }


def _target_group(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    suffix = f"targetgroup/{name}/{digest(name, length=16)}"
    return {"arn": _arn("elasticloadbalancing", "targetgroup", suffix, region), "arnSuffix": suffix}


def _certificate(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    domains = [inputs.get("domainName"), *(inputs.get("subjectAlternativeNames") or [])]
    options = [
        {
            "domainName": d,
            "resourceRecordName": f"_{digest(str(d), length=32)}.{d}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{digest('v', str(d), length=32)}.acm-validations.aws.",
        }
        for d in domains
        if d
    ]
    return {
        "arn": _arn("acm", "certificate", digest(name, length=36), region),
        "domainValidationOptions": options,
    }


def _certificate_validation(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {"certificateArn": inputs.get("certificateArn")}


def _rds_instance(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    identifier = str(inputs.get("identifier") or name)
    address = f"{identifier}.{digest(name, length=12)}.{region}.rds.amazonaws.com"
    return {
        "address": address,
        "endpoint": f"{address}:5432",
        "port": 5432,
        "identifier": identifier,
        "resourceId": f"db-{digest(name, length=26).upper()}",
        "masterUserSecrets": [
            {
                "secretArn": _arn("secretsmanager", "secret", f"rds!db-{digest(name)}", region),
                "secretStatus": "active",
                "kmsKeyId": _arn("kms", "key", digest("kms", name, length=36), region),
            }
        ],
    }


def _ec2_instance(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    n = int(digest(name, length=4), 16)
    return {
        "privateIp": f"10.0.{n % 250}.{n % 200 + 10}",
        "publicIp": "",
        "primaryNetworkInterfaceId": f"eni-{digest('eni', name)}",
    }


def _random_password(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    length = int(inputs.get("length") or 32)
    # New keepers are a new password, as the provider replaces it; none keeps the first value.
    keepers = inputs.get("keepers")
    parts = (name, *([json.dumps(keepers, sort_keys=True)] if keepers else []))
    return {"result": digest("password", *parts, length=length), "bcryptHash": "$2a$10$offline"}


# The TLS provider's keys and certificates are made for real (`plan.fake_tls`), so code
# that parses them (enrollment pins, expiry dates, SANs) and the real-daemon tests run on
# what the plan hands out.
def _tls_private_key(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return fake_tls.private_key(name)


def _tls_cert_request(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return fake_tls.cert_request(inputs)


def _tls_self_signed(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return fake_tls.self_signed(name, inputs)


def _tls_locally_signed(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return fake_tls.locally_signed(name, inputs)


def _docker_image(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    image = str(inputs.get("name", name))
    return {
        "imageId": f"sha256:{digest('image', image, length=64)}",
        "repoDigest": f"{image.split(':')[0]}@sha256:{digest('repo', image, length=64)}",
    }


def _random_id(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    value = digest("id", name, length=2 * int(inputs.get("byteLength") or 8))
    return {"hex": value, "b64Url": value, "b64Std": value, "dec": str(int(value, 16))}


def _autonamed(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Pulumi's auto-name (resource name plus a random suffix) when no `name` was given."""
    return {"name": inputs.get("name") or f"{name}-{digest('name', name, length=7)}"}


def _iam_role(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    """IAM is global: its ARNs carry no region, and a role's carries its path."""
    role_name = _autonamed(name, inputs, region)["name"]
    path = str(inputs.get("path") or "/")
    return {
        "name": role_name,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role{path}{role_name}",
        "uniqueId": f"AROA{digest('role', name, length=17).upper()}",
    }


def _oidc_provider(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    host = str(inputs.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"}


def _ssm_parameter(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {"version": 1}


STATE: dict[str, StateFn] = {
    "aws:ec2/eip:Eip": _eip,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:acm/certificate:Certificate": _certificate,
    "aws:acm/certificateValidation:CertificateValidation": _certificate_validation,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:ec2/instance:Instance": _ec2_instance,
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomId:RandomId": _random_id,
    "tls:index/privateKey:PrivateKey": _tls_private_key,
    "tls:index/certRequest:CertRequest": _tls_cert_request,
    "tls:index/selfSignedCert:SelfSignedCert": _tls_self_signed,
    "tls:index/locallySignedCert:LocallySignedCert": _tls_locally_signed,
    "docker:index/remoteImage:RemoteImage": _docker_image,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:iam/instanceProfile:InstanceProfile": _autonamed,
    "aws:rds/subnetGroup:SubnetGroup": _autonamed,
    "aws:rds/parameterGroup:ParameterGroup": _autonamed,
    "aws:ssm/document:Document": _autonamed,
    "aws:ssm/parameter:Parameter": _ssm_parameter,
}


def resource_id(type_: str, name: str) -> str:
    """A stable, realistic-looking physical id."""
    prefixes = {
        "aws:ec2/vpc:Vpc": "vpc-",
        "aws:ec2/subnet:Subnet": "subnet-",
        "aws:ec2/securityGroup:SecurityGroup": "sg-",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
        "aws:ec2/instance:Instance": "i-",
        "aws:ec2/internetGateway:InternetGateway": "igw-",
        "aws:ec2/natGateway:NatGateway": "nat-",
        "aws:ec2/routeTable:RouteTable": "rtb-",
        "aws:ec2/eip:Eip": "eipalloc-",
    }
    return prefixes.get(type_, f"{name}-") + digest(type_, name)


def state(type_: str, name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Outputs of a created resource: its inputs, an ARN, and type-specific computed values."""
    out: dict[str, Any] = dict(inputs)
    if type_.startswith("aws:"):
        service = type_.split(":")[1].split("/")[0]
        out.setdefault("arn", _arn(service, type_.rsplit(":", 1)[-1].lower(), name, region))
    fn = STATE.get(type_)
    if fn is not None:
        out.update(fn(name, inputs, region))
    return out
