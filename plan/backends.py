"""Which state backend a stack lives on, and the stack names that backend accepts.

A venue stack references its cloud stack by name. The backend decides what a
full name may be:

- Pulumi Cloud (`https://api.pulumi.com`, or a self-hosted Pulumi Cloud at any
  other `https://` URL): `<organization>/<project>/<stack>`, the organization
  being one the user belongs to.
- a self-managed ("DIY") backend (`s3://`, `gs://`, `azblob://`, `file://`):
  stacks are project-scoped and every one is named
  `organization/<project>/<stack>`, with the literal word `organization`
  (https://www.pulumi.com/blog/project-scoped-stacks-in-self-managed-backend/;
  the CLI's `pkg/backend/diy` refuses any other organization).

A venue stack that names its cloud stack without an organization (`dev`) reads
it from the organization it runs in (`pulumi.get_organization()`), which is
right on both kinds; the offline plan runs it the way the named backend would.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

PULUMI_CLOUD = "https://api.pulumi.com"
DIY_ORGANIZATION = "organization"
# The organization the committed stacks' examples use (their images are ghcr.io/example-tickets).
DEFAULT_ORGANIZATION = "example-tickets"
SELF_MANAGED_SCHEMES = ("s3", "gs", "azblob", "file")
_ORGANIZATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

BackendKind = Literal["pulumi-cloud", "self-managed"]


class BackendError(ValueError):
    """A backend URL or organization the CLI would not accept; one line."""


@dataclass(frozen=True)
class Backend:
    """A state backend: its URL, its kind, and the organization stacks run in there."""

    url: str
    kind: BackendKind
    organization: str

    @classmethod
    def of(cls, url: str | None = None, organization: str | None = None) -> Backend:
        """The backend at `url` (default `$PULUMI_BACKEND_URL`, else Pulumi Cloud)."""
        url = url or os.environ.get("PULUMI_BACKEND_URL") or PULUMI_CLOUD
        scheme = urlparse(url).scheme
        if scheme in SELF_MANAGED_SCHEMES:
            if organization not in (None, DIY_ORGANIZATION):
                raise BackendError(
                    f"--organization: a self-managed backend ({url}) has the one organization "
                    f"{DIY_ORGANIZATION!r}, got {json.dumps(organization)}"
                )
            return cls(url, "self-managed", DIY_ORGANIZATION)
        if scheme != "https":
            allowed = ", ".join(f"{s}://" for s in (*SELF_MANAGED_SCHEMES, "https"))
            raise BackendError(
                f"--backend: expected a backend URL ({allowed}), got {json.dumps(url)}"
            )
        organization = organization or DEFAULT_ORGANIZATION
        if not _ORGANIZATION.match(organization):
            raise BackendError(
                f"--organization: not a Pulumi Cloud organization name, got "
                f"{json.dumps(organization)}"
            )
        return cls(url, "pulumi-cloud", organization)

    def full_name(self, reference: str, project: str) -> str:
        """`reference` as the backend resolves it: a bare stack name gets this backend's
        organization and `project`; a full name stays as written."""
        return reference if "/" in reference else f"{self.organization}/{project}/{reference}"

    def refusal(self, full_name: str) -> str | None:
        """Why this backend cannot hold a stack named `full_name` (None: it can)."""
        organization = full_name.split("/", 1)[0]
        if self.kind == "self-managed" and organization != DIY_ORGANIZATION:
            return (
                f"a self-managed backend ({self.url}) names every stack "
                f"{DIY_ORGANIZATION}/<project>/<stack>; write the stack name alone or "
                f"{DIY_ORGANIZATION}/..."
            )
        if self.kind == "pulumi-cloud" and organization != self.organization:
            return (
                f"the offline plan answers only organization {self.organization}'s committed "
                f"stacks (--organization); write the stack name alone to read it from the "
                "organization the venue stack runs in"
            )
        return None
