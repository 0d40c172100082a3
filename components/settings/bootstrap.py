"""The bootstrap stack's settings: who may deploy, from which repository, into which environment.

The bootstrap stack is applied once per AWS account by a person with administrator
credentials. It creates what the pipeline's short-lived credentials come from: GitHub's
OIDC identity provider and, per environment, a read-only role for previews and a deploy
role for the main branch's deploy job.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.settings.cloud import UNSET_DOMAIN
from components.settings.errors import at
from components.settings.validators import Environment, Model, Region

# GitHub's rules: an owner is 1-39 letters, digits and single hyphens; a repository name is
# letters, digits, '.', '_' and '-'. Case is kept: the OIDC `sub` claim spells it as GitHub does.
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_REPOSITORY = re.compile(rf"^{_OWNER}/[A-Za-z0-9._-]{{1,100}}$")
# S3's bucket naming rules (general purpose buckets): 3-63 lowercase letters, digits, '.', '-'.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

ALL_ENVIRONMENTS: tuple[Environment, ...] = get_args(Environment)


def _repository(value: str) -> str:
    if not _REPOSITORY.match(value):
        raise ValueError("not a GitHub repository like acme/ticketing-infra")
    return value


def _bucket(value: str) -> str:
    if not _BUCKET.match(value) or ".." in value:
        raise ValueError("not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')")
    return value


Repository = Annotated[str, AfterValidator(_repository)]
BucketName = Annotated[str, AfterValidator(_bucket)]


class CiIdentitySettings(Model):
    """The repository whose workflows get credentials, and for which environments.

    `state_bucket`: the S3 bucket of a DIY state backend (`s3://<bucket>`); the roles
    then get what `pulumi preview` and `pulumi up` need in it. Empty for Pulumi Cloud.
    """

    repository: Repository
    environments: Annotated[list[Environment], Field(min_length=1)] = list(ALL_ENVIRONMENTS)
    state_bucket: BucketName | None = None
    max_session_hours: Annotated[int, Field(ge=1, le=12)] = 1

    @field_validator("environments")
    @classmethod
    def _distinct(cls, value: list[Environment]) -> list[Environment]:
        if len(set(value)) != len(value):
            raise ValueError("environments must be distinct")
        return value


class BootstrapSettings(Model):
    """A bootstrap stack: the CI identity of one AWS account.

    `environment` is the account's most sensitive environment: outside dev the
    identity provider and the roles are protected from deletion.
    """

    role: Literal["bootstrap"]
    environment: Environment
    region: Region
    ci_identity: CiIdentitySettings

    @model_validator(mode="before")
    @classmethod
    def _no_domain(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        raw = dict(cast(dict[str, Any], value))
        # Pulumi.yaml's default reaches every stack; a bootstrap stack keeps it (no zone).
        given = raw.pop("domain", UNSET_DOMAIN)
        if given != UNSET_DOMAIN:
            raise at(("domain",), "bootstrap stacks take no domain (they create no zone)", given)
        return raw

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"
