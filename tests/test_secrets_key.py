"""The secrets key: every SecureString and master secret only its owner can decrypt.

Decided on the policy documents the program writes, by moto's IAM policy evaluator
(`moto.iam.access_control.IAMPolicy`, as tests/test_fargate.py does), one statement
at a time, and combined the way AWS KMS authorizes a request (AWS KMS Developer
Guide, "Determining access to AWS KMS keys"): an explicit Deny in the key policy or
an IAM policy wins; else the key policy allows the principal, or allows the account
(`arn:aws:iam::<account>:root`) and an IAM policy of the principal allows it.

The requests are the ones the services make (AWS KMS Developer Guide, "How AWS
Systems Manager Parameter Store uses AWS KMS": Parameter Store sends the
`PARAMETER_ARN` encryption context; AWS Secrets Manager User Guide, "Secret
encryption and decryption": Secrets Manager sends `SecretARN`). moto evaluates only
the `StringEquals` operator and takes a context key the request lacks as met, so
each request names every context key (an absent one as "") and a test holds every
decrypting statement to `StringEquals`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from components.aws.kms import KEY_DELETION_WINDOW_DAYS
from components.aws.secrets_key import (
    PARAMETER_CONTEXT,
    SECRET_CONTEXT,
    decrypt_statements,
    secrets_key_policy,
)
from plan import fakes
from plan.model import Plan, Resource, reveal
from plan.resource_types import (
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    KMS_KEY,
    RDS_INSTANCE,
    SSM_PARAMETER,
)
from seed import naming

REGION = "eu-west-1"
ACCOUNT = fakes.ACCOUNT_ID
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
DECRYPT = "kms:Decrypt"
VIA_SSM = f"ssm.{REGION}.amazonaws.com"
VIA_SECRETS_MANAGER = f"secretsmanager.{REGION}.amazonaws.com"
CONTEXT_KEYS = ("kms:ViaService", PARAMETER_CONTEXT, SECRET_CONTEXT)
# AWS-managed policies the program attaches; they are AWS's to write, so not evaluated here.
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
}

Document = dict[str, Any]


# --- KMS's decision, statement by statement -------------------------------------------


def _statements(document: Document) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _names(statement: Mapping[str, Any], principal: str) -> bool:
    """The statement's Principal covers `principal` (no Principal: an IAM policy's own)."""
    if "Principal" not in statement:
        return True
    named = statement["Principal"].get("AWS", [])
    named = [named] if isinstance(named, str) else named
    return "*" in named or principal in named


def _matches(statement: Mapping[str, Any], request: Mapping[str, str], resource: str) -> bool:
    """Action, resource and conditions all match: moto's answer for the statement as an
    Allow without Principal (moto answers Deny for an Allow whose condition fails)."""
    alone = {k: v for k, v in statement.items() if k != "Principal"} | {"Effect": "Allow"}
    policy = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": [alone]}))
    answer = policy.is_action_permitted(DECRYPT, resource, incoming_condition_values=dict(request))
    return answer == PermissionResult.PERMITTED


def kms_allows(
    key_policy: Document,
    principal: str,
    iam_documents: list[Document],
    key_arn: str,
    request: Mapping[str, str],
) -> bool:
    """Whether KMS lets `principal` decrypt with the key for this `request` context."""
    own = [s for d in iam_documents for s in _statements(d)]
    for_principal = [s for s in _statements(key_policy) if _names(s, principal)]
    for_account = [s for s in _statements(key_policy) if _names(s, ROOT)]

    def hit(statements: list[dict[str, Any]], effect: str) -> bool:
        return any(s["Effect"] == effect and _matches(s, request, key_arn) for s in statements)

    if hit(for_principal, "Deny") or hit(own, "Deny"):
        return False
    return hit(for_principal, "Allow") or (hit(for_account, "Allow") and hit(own, "Allow"))


def request(via: str, *, parameter: str | None = None, secret: str | None = None) -> dict[str, str]:
    """The context of one Decrypt call: every key named, an absent one as ""."""
    values = {"kms:ViaService": via, PARAMETER_CONTEXT: parameter, SECRET_CONTEXT: secret}
    return {key: values[key] or "" for key in CONTEXT_KEYS}


# --- what the plan holds ----------------------------------------------------------------


def the_key(plan: Plan) -> tuple[str, Document]:
    keys = [k for k in plan.of_type(KMS_KEY) if k.name == "secrets-key"]
    assert len(keys) == 1
    return str(keys[0].outputs["arn"]), json.loads(reveal(keys[0].inputs["policy"]))


def role_documents(plan: Plan, role: Resource) -> list[Document]:
    """The role's inline policies; its managed ones must be AWS's, listed in MANAGED."""
    names = (role.id, role.outputs.get("name"))
    attached = {
        str(a.inputs["policyArn"])
        for a in plan.of_type(IAM_ROLE_POLICY_ATTACHMENT)
        if a.inputs.get("role") in names
    }
    assert attached <= MANAGED, role.name
    return [
        json.loads(reveal(p.inputs["policy"]))
        for p in plan.of_type(IAM_ROLE_POLICY)
        if p.inputs.get("role") in names
    ]


def secure_strings(plan: Plan) -> dict[str, str]:
    """Every SecureString's name -> its ARN."""
    return {
        str(p.inputs["name"]): f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{p.inputs['name']}"
        for p in plan.of_type(SSM_PARAMETER)
        if p.inputs.get("type") == "SecureString"
    }


def master_secrets(plan: Plan) -> dict[str, str]:
    """RDS instance resource name -> the ARN of its master secret."""
    return {
        db.name: str(db.outputs["masterUserSecrets"][0]["secretArn"])
        for db in plan.of_type(RDS_INSTANCE)
    }


def decryptable(plan: Plan, role: Resource) -> set[str]:
    """The SecureStrings (by name) and master secrets (by instance) the role can decrypt."""
    key_arn, key_policy = the_key(plan)
    documents = role_documents(plan, role)
    arn = str(role.outputs["arn"])
    found = {
        name
        for name, parameter_arn in secure_strings(plan).items()
        if kms_allows(
            key_policy, arn, documents, key_arn, request(VIA_SSM, parameter=parameter_arn)
        )
    }
    return found | {
        db
        for db, secret_arn in master_secrets(plan).items()
        if kms_allows(
            key_policy, arn, documents, key_arn, request(VIA_SECRETS_MANAGER, secret=secret_arn)
        )
    }


def roles(plan: Plan) -> dict[str, Resource]:
    return {r.name: r for r in plan.of_type(IAM_ROLE)}


def under_service(plan: Plan, *services: str) -> set[str]:
    """The SecureStrings of these services (their paths hold the venue credentials too)."""
    prefixes = tuple(naming.ssm_service_path("dev", s) + "/" for s in services)
    return {name for name in secure_strings(plan) if name.startswith(prefixes)}


def _split_stack() -> dict[str, Any]:
    services = {
        s: {"image": f"registry.example.org/{s}:1.0.0"}
        for s in ("ticketing", "payments", "identity", "notifications")
    }
    services["payments"] |= {"host": "dedicated", "database": "dedicated"}
    return {
        "services": services,
        "network": {"cidr": "10.90.0.0/16", "azCount": 2, "natMode": "instance"},
        "venues": ["arena"],
    }


@pytest.fixture(scope="module")
def split_plan(built: Callable[..., Plan]) -> Plan:
    """A dev stack of the test's own with payments on a host and an RDS instance of its
    own (two hosts to tell apart), a NAT instance and a venue."""
    return built("dev", **_split_stack())


# --- the tests ---------------------------------------------------------------------------


def test_every_secret_is_encrypted_with_the_environments_key(prod_plan: Plan) -> None:
    key_arn, _ = the_key(prod_plan)
    parameters = [p for p in prod_plan.of_type(SSM_PARAMETER) if p.inputs["type"] == "SecureString"]
    assert len(parameters) >= 20  # every service's credentials and the venues' sync ones
    assert {p.inputs.get("keyId") for p in parameters} == {key_arn}
    for db in prod_plan.of_type(RDS_INSTANCE):
        assert db.inputs["manageMasterUserPassword"] is True
        assert db.inputs["masterUserSecretKmsKeyId"] == key_arn, db.name


def test_the_key_rotates_and_its_account_keeps_it(prod_plan: Plan) -> None:
    [key] = [k for k in prod_plan.of_type(KMS_KEY) if k.name == "secrets-key"]
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == KEY_DELETION_WINDOW_DAYS == 30
    policy = json.loads(reveal(key.inputs["policy"]))
    [admin] = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert admin == {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "kms:*",
        "Resource": "*",
    }


def test_each_host_decrypts_its_own_services_secrets_and_no_others(split_plan: Plan) -> None:
    found = roles(split_plan)
    secrets = master_secrets(split_plan)
    assert set(secrets) == {"db-instance", "payments-db-instance"}
    shared = decryptable(split_plan, found["shared-host-role"])
    payments = decryptable(split_plan, found["payments-host-role"])
    others = ("ticketing", "identity", "notifications")
    assert shared == under_service(split_plan, *others) | {"db-instance"}
    # The payments host also copies its data off the shared instance once (placement.moves),
    # as that instance's master user: the shared master secret, and no other service's secret.
    moving = {"payments-db-instance", "db-instance"}
    assert payments == under_service(split_plan, "payments") | moving
    assert len(under_service(split_plan, "payments")) == 7  # 2 PostgreSQL, 2 Redis, 3 RabbitMQ
    # The venues' sync credentials live under ticketing's path: its host reads them.
    assert naming.ssm_venue_credential("dev", "arena") in shared


def test_a_host_decrypts_only_through_the_service_with_the_secrets_context(
    split_plan: Plan,
) -> None:
    key_arn, key_policy = the_key(split_plan)
    role = roles(split_plan)["payments-host-role"]
    documents, arn = role_documents(split_plan, role), str(role.outputs["arn"])
    own = secure_strings(split_plan)[
        naming.ssm_service_parameter("dev", "payments", naming.DATABASE_URL)
    ]
    assert kms_allows(key_policy, arn, documents, key_arn, request(VIA_SSM, parameter=own))
    for context in (
        request("", parameter=own),  # KMS called directly, not through Parameter Store
        request(VIA_SECRETS_MANAGER, parameter=own),
        request(VIA_SSM),  # no encryption context
        request(VIA_SSM, parameter=own.replace("/payments/", "/identity/")),
    ):
        assert not kms_allows(key_policy, arn, documents, key_arn, context), context


def test_the_nat_instance_decrypts_nothing_even_if_its_role_were_granted(
    split_plan: Plan,
) -> None:
    key_arn, key_policy = the_key(split_plan)
    nat = roles(split_plan)["core-nat-role"]
    assert decryptable(split_plan, nat) == set()
    everything: Document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
    }
    parameter = next(iter(secure_strings(split_plan).values()))
    context = request(VIA_SSM, parameter=parameter)
    assert not kms_allows(key_policy, str(nat.outputs["arn"]), [everything], key_arn, context)
    # The same grant opens the key to a role the key policy does not refuse.
    assert kms_allows(key_policy, f"arn:aws:iam::{ACCOUNT}:role/x", [everything], key_arn, context)


def test_no_other_role_decrypts_anything(split_plan: Plan, ecs_plan: Plan) -> None:
    checked = 0
    for plan in (split_plan, ecs_plan):
        for name, role in roles(plan).items():
            if name.endswith("-host-role") or name.endswith("-execution"):
                continue  # their own secrets: the tests above and below
            assert decryptable(plan, role) == set(), name
            checked += 1
    assert checked >= 6  # NAT, flow logs, the tasks' own roles


def _execution_roles(plan: Plan) -> Iterator[tuple[Resource, set[str]]]:
    """Every task definition's execution role, with the parameters its containers name."""
    by_arn = {str(r.outputs["arn"]): r for r in plan.of_type(IAM_ROLE)}
    prefix = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
    for definition in plan.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        containers = json.loads(reveal(definition.inputs["containerDefinitions"]))
        named = {
            str(s["valueFrom"]).removeprefix(prefix)
            for c in containers
            for s in c.get("secrets", [])
        }
        yield by_arn[str(definition.inputs["executionRoleArn"])], named


def test_each_task_decrypts_exactly_the_secrets_its_containers_name(ecs_plan: Plan) -> None:
    checked = 0
    for role, named in _execution_roles(ecs_plan):
        assert decryptable(ecs_plan, role) == named, role.name
        checked += bool(named)
    assert checked >= 4  # ticketing's and payments' APIs, Redis and RabbitMQ


def test_the_shared_host_decrypts_the_passwords_of_the_databases_it_bootstraps(
    ecs_plan: Plan,
) -> None:
    shared = decryptable(ecs_plan, roles(ecs_plan)["shared-host-role"])
    for service in ("ticketing", "payments"):  # on ECS; their databases bootstrapped here
        password = naming.ssm_service_parameter("dev", service, naming.DATABASE_PASSWORD)
        assert under_service(ecs_plan, service) & shared == {password}, service


def test_each_host_decrypts_the_registry_password_the_stack_names_and_the_nat_does_not(
    built: Callable[..., Plan],
) -> None:
    # Made outside the program (README, appHost.registry), encrypted with this key.
    token = "/ticketing/registry/ghcr-token"
    registry = {"server": "ghcr.io", "username": "deploy-bot", "passwordParameter": token}
    plan = built("dev", **_split_stack(), appHost={"registry": registry})
    key_arn, key_policy = the_key(plan)
    asked = request(VIA_SSM, parameter=f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{token}")
    for name, role in roles(plan).items():
        reads = kms_allows(
            key_policy, str(role.outputs["arn"]), role_documents(plan, role), key_arn, asked
        )
        assert reads is name.endswith("-host-role"), name


def test_every_decrypting_statement_is_one_moto_evaluates() -> None:
    statements = decrypt_statements(
        "arn:aws:kms:eu-west-1:1:key/k", REGION, parameter_arns=["p"], secret_arns=["s"]
    )
    assert len(statements) == 2
    for statement in statements:
        assert set(statement["Condition"]) == {"StringEquals"}
        assert statement["Action"] == DECRYPT
    assert decrypt_statements("k", REGION) == []
    policy = json.loads(secrets_key_policy(ACCOUNT, ["arn:aws:iam::1:role/nat"]))
    assert all("Condition" not in s for s in policy["Statement"])
