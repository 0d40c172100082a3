"""`CloudflareEdge`: the stack's existing zone hardened, proxied to the origin, and locking it.

The zone itself is never created or deleted here: its id comes from config.
Rule expressions are pure functions below, tested without a mock engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from components.edge.origin import Origin
from components.settings import CloudSettings, RateLimit
from seed import catalog

# Cloudflare's managed ruleset ids (from Cloudflare's docs; not in the SDK).
CLOUDFLARE_MANAGED_RULESET = "efb7b8c949ac4650a09736fc376e9aee"
OWASP_CORE_RULESET = "4814384a9e5d4991b9815dcfc25d2f1f"
HTTP_DDOS_RULESET = "4d21379b4f9f4bb088e0729962c8b3cf"

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
STATIC_EXTENSIONS = (
    "css", "js", "mjs", "map", "json", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif",
    "ico", "woff", "woff2", "ttf", "txt", "webmanifest",
)  # fmt: skip
AUTO_TTL = 1  # Cloudflare's "automatic" TTL, the only one a proxied record takes


def edge_ranges(provider: pulumi.ProviderResource) -> list[str]:
    """Cloudflare's published IPv4 ranges: the only public sources the origin admits."""
    ranges = cloudflare.get_ip_ranges(opts=pulumi.InvokeOptions(provider=provider))
    return list(ranges.ipv4_cidrs)


def _set(values: Iterable[str], quote: bool = True) -> str:
    return "{" + " ".join(f'"{v}"' if quote else v for v in values) + "}"


def host_is(*hosts: str) -> str:
    return f'http.host eq "{hosts[0]}"' if len(hosts) == 1 else f"http.host in {_set(hosts)}"


def admin_block_expression(admin_host: str, countries: Sequence[str], ips: Sequence[str]) -> str:
    """Requests for the admin hostname from outside the allowed countries and IP ranges.
    With neither configured, every request to it (the admin portal stays closed)."""
    allowed: list[str] = []
    if countries:
        allowed.append(f"ip.src.country in {_set(countries)}")
    if ips:
        allowed.append(f"ip.src in {_set(ips, quote=False)}")
    if not allowed:
        return f"({host_is(admin_host)})"
    return f"({host_is(admin_host)} and not ({' or '.join(allowed)}))"


def method_block_expression(hosts: Sequence[str]) -> str:
    """Requests to our hostnames with a method no service implements."""
    return f"({host_is(*hosts)} and not http.request.method in {_set(ALLOWED_METHODS)})"


def path_prefixes(settings: CloudSettings, service: catalog.DomainService) -> list[str]:
    """The service's rate-limited paths under its configured prefix (`services.<n>.pathPrefix`)."""
    prefix = settings.services[service.name].path_prefix or service.path_prefix
    return [prefix + path[len(service.path_prefix) :] for path in service.rate_limited_paths]


def rate_limit_expression(api_host: str | None, paths: Sequence[str]) -> str:
    """Requests to the rate-limited paths; on the API host only where the plan can match hosts."""
    starts = " or ".join(f'starts_with(http.request.uri.path, "{p}")' for p in paths)
    return f"({host_is(api_host)} and ({starts}))" if api_host else f"({starts})"


def static_assets_expression(hosts: Sequence[str]) -> str:
    return f"({host_is(*hosts)} and http.request.uri.path.extension in {_set(STATIC_EXTENSIONS)})"


def hsts(max_age: int) -> dict[str, Any]:
    """The `security_header` value; snake_case keys converge (pulumi-cloudflare #1579)."""
    return {
        "strict_transport_security": {
            "enabled": True,
            "max_age": max_age,
            "include_subdomains": True,
            "preload": False,
            "nosniff": True,
        }
    }


class CloudflareEdge(pulumi.ComponentResource):
    """Zone settings, proxied DNS to the origin, WAF, DDoS, rate limits, cache rules and
    the origin-lock header, on the stack's existing Cloudflare zone.

    Args:
        name: prefix for every child's name.
        settings: the cloud stack's settings (zone, hostnames, edge rules, services).
        origin: where the proxied records point and the origin-lock header to set
            (`Ingress.origin`).
        opts: must carry the stack's Cloudflare provider.
    """

    zone_id: pulumi.Output[str]
    hostnames: dict[str, str]
    managed_waf: bool

    def __init__(
        self,
        name: str,
        settings: CloudSettings,
        origin: Origin,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ticketing:cloudflare:CloudflareEdge", name, None, opts)
        self._name = name
        self._edge = settings.cloudflare
        self._zone = settings.cloudflare.zone_id
        self._child = pulumi.ResourceOptions(parent=self)
        hosts = settings.public_hosts
        web_hosts = [hosts[c.hostname] for c in catalog.WEB_CLIENTS if c.hostname]

        self._zone_settings(settings.cloudflare.hsts_max_age)
        self._records(hosts, origin)
        self._firewall(list(hosts.values()), hosts["admin"])
        self._ddos()
        self._rate_limits(settings)
        self._cache(web_hosts, hosts["api"])
        self._ruleset(
            "origin-lock",
            "http_request_late_transform",
            "Origin lock: proves to the ALB that a request came through this edge",
            [
                cloudflare.RulesetRuleArgs(
                    action="rewrite",
                    expression=f"({host_is(*hosts.values())})",
                    description=f"Set {origin.header} on every request to the origin",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        headers={
                            origin.header: cloudflare.RulesetRuleActionParametersHeadersArgs(
                                operation="set", value=origin.secret
                            )
                        }
                    ),
                )
            ],
        )

        self.zone_id = pulumi.Output.from_input(self._zone)
        self.hostnames = dict(hosts)
        self.managed_waf = settings.cloudflare.managed_waf
        self.stack_outputs: dict[str, pulumi.Input[Any]] = {
            "zoneId": self.zone_id,
            "publicHostnames": self.hostnames,
            "managedWaf": self.managed_waf,
        }
        self.register_outputs(
            {"zoneId": self.zone_id, "hostnames": self.hostnames, "managedWaf": self.managed_waf}
        )

    def _zone_settings(self, hsts_max_age: int) -> None:
        values: dict[str, Any] = {
            "ssl": "strict",
            "min_tls_version": "1.2",
            "tls_1_3": "on",
            "always_use_https": "on",
            "automatic_https_rewrites": "on",
            "security_header": hsts(hsts_max_age),
            "browser_check": "on",
        }
        for setting_id, value in values.items():
            cloudflare.ZoneSetting(
                f"{self._name}-{setting_id.replace('_', '-')}",
                zone_id=self._zone,
                setting_id=setting_id,
                value=value,
                opts=self._child,
            )

    def _records(self, hosts: Mapping[str, str], origin: Origin) -> None:
        """Every public hostname proxied: A records to the static IPs, or one CNAME to the
        load balancer when the stack has none."""
        for key, fqdn in hosts.items():
            if origin.static_ips:
                for index, ip in enumerate(origin.static_ips):
                    self._record(f"{self._name}-{key}-{index}", fqdn, "A", ip)
            else:
                self._record(f"{self._name}-{key}", fqdn, "CNAME", origin.dns_name)

    def _record(self, resource: str, fqdn: str, kind: str, content: pulumi.Input[str]) -> None:
        cloudflare.DnsRecord(
            resource,
            zone_id=self._zone,
            name=fqdn,
            type=kind,
            content=content,
            proxied=True,
            ttl=AUTO_TTL,
            comment="Public hostname, proxied to the AWS ingress",
            opts=self._child,
        )

    def _firewall(self, hosts: Sequence[str], admin_host: str) -> None:
        if self._edge.managed_waf:
            self._ruleset(
                "waf-managed",
                "http_request_firewall_managed",
                "Cloudflare's managed WAF rulesets",
                [
                    cloudflare.RulesetRuleArgs(
                        action="execute",
                        expression="true",
                        description=description,
                        action_parameters=cloudflare.RulesetRuleActionParametersArgs(id=ruleset),
                    )
                    for ruleset, description in (
                        (CLOUDFLARE_MANAGED_RULESET, "Cloudflare Managed Ruleset"),
                        (OWASP_CORE_RULESET, "Cloudflare OWASP Core Ruleset"),
                    )
                ],
            )
        allow = self._edge.admin_allow
        self._ruleset(
            "waf-custom",
            "http_request_firewall_custom",
            "Admin hostname allow-list and method filter",
            [
                cloudflare.RulesetRuleArgs(
                    action="block",
                    expression=admin_block_expression(admin_host, allow.countries, allow.ips),
                    description="Admin portal only from the allowed countries and IP ranges",
                ),
                cloudflare.RulesetRuleArgs(
                    action="block",
                    expression=method_block_expression(hosts),
                    description="Methods no service implements",
                ),
            ],
        )

    def _ddos(self) -> None:
        self._ruleset(
            "ddos",
            "ddos_l7",
            "HTTP DDoS protection at the environment's sensitivity",
            [
                cloudflare.RulesetRuleArgs(
                    action="execute",
                    expression="true",
                    description="HTTP DDoS Attack Protection",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        id=HTTP_DDOS_RULESET,
                        overrides=cloudflare.RulesetRuleActionParametersOverridesArgs(
                            sensitivity_level=self._edge.ddos_sensitivity
                        ),
                    ),
                )
            ],
        )

    def _rate_limits(self, settings: CloudSettings) -> None:
        limits: dict[str, RateLimit] = {
            "identity": self._edge.rate_limits.identity,
            "payments": self._edge.rate_limits.payments,
        }
        allowed = self._edge.rate_limit_plan
        host = settings.api_host if allowed.host_field else None
        groups: list[tuple[str, list[str], RateLimit]] = [
            (
                catalog.service(name).title,
                path_prefixes(settings, catalog.service(name)),
                limit,
            )
            for name, limit in limits.items()
        ]
        if allowed.shares_one_rule:
            # One rule for every service, with identity's threshold (settings make payments'
            # the same on such a plan).
            groups = [
                (
                    " and ".join(title for title, _, _ in groups),
                    [path for _, paths, _ in groups for path in paths],
                    limits["identity"],
                )
            ]
        rules = [
            cloudflare.RulesetRuleArgs(
                action="block",
                expression=rate_limit_expression(host, paths),
                description=f"{title}: {limit.requests} requests per "
                f"{limit.period_seconds}s per client IP",
                ratelimit=cloudflare.RulesetRuleRatelimitArgs(
                    characteristics=["ip.src", "cf.colo.id"],
                    period=limit.period_seconds,
                    requests_per_period=limit.requests,
                    mitigation_timeout=limit.mitigation_seconds,
                ),
            )
            for title, paths, limit in groups
        ]
        self._ruleset(
            "rate-limits", "http_ratelimit", "Login, token and payment rate limits", rules
        )

    def _cache(self, web_hosts: Sequence[str], api_host: str) -> None:
        ttl = self._edge.cache
        self._ruleset(
            "cache",
            "http_request_cache_settings",
            "Cache the web clients' static assets; never the API",
            [
                cloudflare.RulesetRuleArgs(
                    action="set_cache_settings",
                    expression=static_assets_expression(web_hosts),
                    description="Web clients' static assets at the edge",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        cache=True,
                        edge_ttl=cloudflare.RulesetRuleActionParametersEdgeTtlArgs(
                            mode="override_origin", default=ttl.edge_seconds
                        ),
                        browser_ttl=cloudflare.RulesetRuleActionParametersBrowserTtlArgs(
                            mode="override_origin", default=ttl.browser_seconds
                        ),
                    ),
                ),
                cloudflare.RulesetRuleArgs(
                    action="set_cache_settings",
                    expression=f"({host_is(api_host)})",
                    description="API responses are never cached",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(cache=False),
                ),
            ],
        )

    def _ruleset(
        self,
        suffix: str,
        phase: str,
        description: str,
        rules: Sequence[cloudflare.RulesetRuleArgs],
    ) -> cloudflare.Ruleset:
        """The zone's entry-point ruleset for `phase` (one per zone and phase)."""
        return cloudflare.Ruleset(
            f"{self._name}-{suffix}",
            zone_id=self._zone,
            kind="zone",
            phase=phase,
            name=f"ticketing {phase}",
            description=description,
            rules=list(rules),
            opts=self._child,
        )
