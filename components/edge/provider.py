"""The stack's explicit Cloudflare provider: nothing falls back to ambient config."""

from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare


def cloudflare_provider() -> cloudflare.Provider:
    """The Cloudflare provider. Its token is `cloudflare:apiToken` (a config secret);
    when unset the provider reads CLOUDFLARE_API_TOKEN, as CI does."""
    token = pulumi.Config("cloudflare").get_secret("apiToken")
    return cloudflare.Provider("cloudflare", api_token=token)
