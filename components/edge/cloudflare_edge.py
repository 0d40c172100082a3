"""`CloudflareEdge`: the stack's existing zone hardened, proxied to the origin, and locking it.

The zone itself is never created or deleted here: its id comes from config.
What the zone's plan includes comes from Cloudflare's published plan data
(`seed.zone_plans`), read through the settings. Rule expressions are pure
functions below, tested without a mock engine and parsed by Cloudflare's Rules
language parser (wirefilter) in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from components.edge.origin import Origin
from components.outputs import ComponentOutputs, exported
from components.settings import CloudflareSettings, CloudSettings, RateLimit
from seed import catalog, cloudflare_ranges
from seed.zone_plans import MANAGED_RULESET_IDS

HTTP_DDOS_RULESET = "4d21379b4f9f4bb088e0729962c8b3cf"
RULESET_TYPE = "cloudflare:index/ruleset:Ruleset"
DNS_RECORD_TYPE = "cloudflare:index/dnsRecord:DnsRecord"

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
STATIC_EXTENSIONS = (
    "css", "js", "mjs", "map", "json", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif",
    "ico", "woff", "woff2", "ttf", "txt", "webmanifest",
)  # fmt: skip
AUTO_TTL = 1  # Cloudflare's "automatic" TTL, the only one a proxied record takes
# Cloudflare requires the data centre among every rate-limiting rule's characteristics.
COLO = "cf.colo.id"
WAITING_ROOM_STATUS = 429  # API clients read "come back later", not a 200 HTML page


def edge_ranges() -> list[str]:
    """Cloudflare's published IPv4 ranges: the only public sources the origin admits.

    The same list the policy pack accepts (`seed.cloudflare_ranges`), so the
    security groups and the pack can never disagree; refresh it from
    https://www.cloudflare.com/ips/ when Cloudflare publishes a change.
    """
    return list(cloudflare_ranges.IPV4)


def _set(values: Iterable[str], quote: bool = True) -> str:
    return "{" + " ".join(f'"{v}"' if quote else v for v in values) + "}"


def host_is(*hosts: str) -> str:
    return f'http.host eq "{hosts[0]}"' if len(hosts) == 1 else f"http.host in {_set(hosts)}"


def path_starts(paths: Sequence[str]) -> str:
    """Any of `paths` as a path prefix: `starts_with` (no regex: Free and Pro have none)."""
    return " or ".join(f'starts_with(http.request.uri.path, "{p}")' for p in paths)


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


def venue_skip_expression(api_host: str, paths: Sequence[str], egress: Sequence[str]) -> str:
    """Requests from a venue's egress addresses to the rate-limited paths (they skip the
    rate-limiting phase where the zone plan can only count by bare IP)."""
    addresses = _set(egress, quote=False)
    return f"({host_is(api_host)} and ip.src in {addresses} and ({path_starts(paths)}))"


def path_prefixes(prefix: str, service: catalog.DomainService) -> list[str]:
    """The service's rate-limited paths under its configured `prefix`
    (`services.<n>.pathPrefix`, or the catalog's)."""
    return [prefix + path[len(service.path_prefix) :] for path in service.rate_limited_paths]


def rate_limit_expression(api_host: str | None, paths: Sequence[str]) -> str:
    """Requests to the rate-limited paths; on the API host only where the zone plan can."""
    starts = path_starts(paths)
    return f"({host_is(api_host)} and ({starts}))" if api_host else f"({starts})"


def static_assets_expression(hosts: Sequence[str]) -> str:
    return f"({host_is(*hosts)} and http.request.uri.path.extension in {_set(STATIC_EXTENSIONS)})"


def fingerprinted_expression(hosts: Sequence[str], prefixes: Sequence[str]) -> str:
    """The web clients' content-hashed build output: safe to cache for a year."""
    return f"({host_is(*hosts)} and ({path_starts(prefixes)}))"


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


def ruleset_import_id(zone_id: str, ruleset_id: str) -> str:
    """`pulumi import` id of a zone ruleset (pulumi-cloudflare 6.x Ruleset docs, "Import")."""
    return f"zones/{zone_id}/{ruleset_id}"


def record_import_id(zone_id: str, record_id: str) -> str:
    """`pulumi import` id of a DNS record (pulumi-cloudflare 6.x DnsRecord docs, "Import")."""
    return f"{zone_id}/{record_id}"


@dataclass(frozen=True)
class CloudflareEdgeArgs:
    """What the edge is built from.

    Attributes:
        edge: the `cloudflare` section (zone, zone plan, WAF, rate limits, cache, ...).
        hosts: hostname key (`api`, `app`, `admin`) -> FQDN.
        environment: names the Waiting Room and the notifications.
        alarm_emails: who Cloudflare's notifications e-mail.
        path_prefixes: service -> its path on the API hostname (`services.<n>.pathPrefix`,
            or the catalog's).
        origin: where the proxied records point and the origin-lock header to set
            (`Ingress.origin`).
    """

    edge: CloudflareSettings
    hosts: Mapping[str, str]
    environment: str
    alarm_emails: tuple[str, ...]
    path_prefixes: Mapping[str, str]
    origin: Origin

    @classmethod
    def of(cls, settings: CloudSettings, origin: Origin) -> CloudflareEdgeArgs:
        return cls(
            edge=settings.cloudflare,
            hosts=settings.public_hosts,
            environment=settings.environment,
            alarm_emails=tuple(settings.observability.alarm_emails),
            path_prefixes={
                s.name: settings.services[s.name].path_prefix or s.path_prefix
                for s in catalog.SERVICES
            },
            origin=origin,
        )

    @property
    def api_host(self) -> str:
        return self.hosts["api"]

    def rate_limited_paths(self, service: str) -> list[str]:
        return path_prefixes(self.path_prefixes[service], catalog.service(service))


@dataclass(frozen=True)
class CloudflareEdgeOutputs(ComponentOutputs):
    """What the edge offers: its zone, hostnames and managed WAF rulesets."""

    zone_id: pulumi.Output[str] = field(
        metadata=exported(
            "The Cloudflare zone that holds the stack's records and rulesets "
            "(`cloudflare.zoneId`).",
            people="open the zone in Cloudflare's dashboard or API, e.g. for `pulumi import` "
            "of its existing rulesets",
        )
    )
    public_hostnames: dict[str, str] = field(
        metadata=exported(
            "The public hostnames by role (`api`, `app`, `admin`), each a proxied record.",
            people="the URLs of the API and of the web clients",
            plan="a venue stack's diagram draws the Bastion's sync line to the `api` "
            "hostname, read through its stack reference",
        )
    )
    managed_waf: bool = field(
        metadata=exported(
            "Whether the zone runs Cloudflare's paid managed WAF rulesets (Cloudflare Managed, "
            "OWASP), which its zone plan (`cloudflare.plan`) decides.",
            people="whether the edge has the paid managed WAF",
        )
    )
    managed_rulesets: list[str] = field(
        metadata=exported(
            "The managed WAF rulesets the edge deploys, by Cloudflare's names: the paid ones "
            "where the zone plan has them, else the Free Managed Ruleset.",
            people="which managed rulesets to look for in the zone's WAF",
        )
    )


class CloudflareEdge(pulumi.ComponentResource):
    """Zone settings, proxied DNS to the origin, WAF, DDoS, rate limits, cache and
    configuration rules, DNSSEC, the on-sale Waiting Room, Cloudflare notifications and
    the origin-lock header, on the stack's existing Cloudflare zone.

    Args:
        name: prefix for every child's name.
        args: the zone's settings, hostnames, service paths and the origin
            (`CloudflareEdgeArgs.of`).
        opts: must carry the stack's Cloudflare provider.
    """

    outputs: CloudflareEdgeOutputs
    stack_outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self, name: str, args: CloudflareEdgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:cloudflare:CloudflareEdge", name, None, opts)
        self._name = name
        self._args = args
        self._edge = args.edge
        self._zone = args.edge.zone_id
        self._child = pulumi.ResourceOptions(parent=self)
        hosts, origin = args.hosts, args.origin
        web_hosts = [hosts[c.hostname] for c in catalog.WEB_CLIENTS if c.hostname]

        self._zone_settings(args.edge.hsts_max_age)
        self._records(hosts, origin)
        self._managed_waf()
        self._firewall(list(hosts.values()), hosts["admin"])
        self._ddos()
        self._rate_limits()
        self._cache(web_hosts, hosts["api"])
        self._ruleset(
            "config-rules",
            "http_config_settings",
            "Per-hostname zone settings",
            [
                cloudflare.RulesetRuleArgs(
                    ref="api-browser-integrity-check-off",
                    action="set_config",
                    expression=f"({host_is(hosts['api'])})",
                    description="No Browser Integrity Check on the API: its clients are apps "
                    "and the Bastion's sync client, not browsers",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(bic=False),
                )
            ],
        )
        self._origin_lock(list(hosts.values()), origin)
        self._origin_pulls(origin)
        cloudflare.ZoneDnssec(
            f"{name}-dnssec", zone_id=self._zone, status="active", opts=self._child
        )
        self._waiting_room()
        self._notifications()

        self.outputs = CloudflareEdgeOutputs(
            zone_id=pulumi.Output.from_input(self._zone),
            public_hostnames=dict(hosts),
            managed_waf=args.edge.managed_waf,
            managed_rulesets=list(args.edge.managed_rulesets),
        )
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())

    def _zone_settings(self, hsts_max_age: int) -> None:
        values: dict[str, Any] = {
            "ssl": "strict",
            "min_tls_version": "1.2",
            "tls_1_3": "on",
            "always_use_https": "on",
            "automatic_https_rewrites": "on",
            "security_header": hsts(hsts_max_age),
            # On for the browser hostnames; the API turns it off with a configuration rule.
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

    def _managed_waf(self) -> None:
        """The zone plan's managed WAF rulesets: the Free Managed Ruleset on Free, Cloudflare
        Managed and OWASP above; in log mode every rule only logs; skip paths first."""
        waf = self._edge.waf
        rules: list[cloudflare.RulesetRuleArgs] = []
        if waf.skip_paths:
            rules.append(
                cloudflare.RulesetRuleArgs(
                    ref="managed-waf-skip-paths",
                    action="skip",
                    expression=f"({path_starts(waf.skip_paths)})",
                    description="Paths the stack exempts from the managed rulesets",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(ruleset="current"),
                )
            )
        overrides = (
            cloudflare.RulesetRuleActionParametersOverridesArgs(action="log")
            if waf.mode == "log"
            else None
        )
        for ruleset in self._edge.managed_rulesets:
            rules.append(
                cloudflare.RulesetRuleArgs(
                    ref=ruleset.lower().replace(" ", "-"),
                    action="execute",
                    expression="true",
                    description=f"{ruleset} ({waf.mode})",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        id=MANAGED_RULESET_IDS[ruleset], overrides=overrides
                    ),
                )
            )
        self._ruleset(
            "waf-managed", "http_request_firewall_managed", "Cloudflare's managed WAF", rules
        )

    def _firewall(self, hosts: Sequence[str], admin_host: str) -> None:
        allow = self._edge.admin_allow
        rules = [
            cloudflare.RulesetRuleArgs(
                ref="admin-allow-list",
                action="block",
                expression=admin_block_expression(admin_host, allow.countries, allow.ips),
                description="Admin portal only from the allowed countries and IP ranges",
            ),
            cloudflare.RulesetRuleArgs(
                ref="unknown-methods",
                action="block",
                expression=method_block_expression(hosts),
                description="Methods no service implements",
            ),
        ]
        egress = [cidr for cidrs in self._edge.venue_egress.values() for cidr in cidrs]
        if egress and not self._edge.rate_limit_entitlement.ip_field:
            # The zone plan counts by bare IP: a venue's thousands of attendees would share one
            # counter, so its egress addresses skip the rate-limiting phase instead.
            rules.append(
                cloudflare.RulesetRuleArgs(
                    ref="venue-egress-skips-rate-limits",
                    action="skip",
                    expression=venue_skip_expression(
                        self._args.api_host, self._rate_limited_paths(), egress
                    ),
                    description="Venue egress addresses: " + ", ".join(self._edge.venue_egress),
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        phases=["http_ratelimit"]
                    ),
                    logging=cloudflare.RulesetRuleLoggingArgs(enabled=True),
                )
            )
        self._ruleset(
            "waf-custom",
            "http_request_firewall_custom",
            "Admin hostname allow-list, method filter, venue egress",
            rules,
        )

    def _ddos(self) -> None:
        self._ruleset(
            "ddos",
            "ddos_l7",
            "HTTP DDoS protection at the environment's sensitivity",
            [
                cloudflare.RulesetRuleArgs(
                    ref="http-ddos",
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

    def _rate_limited_paths(self) -> list[str]:
        return [
            path
            for name in ("identity", "payments")
            for path in self._args.rate_limited_paths(name)
        ]

    def _rate_limits(self) -> None:
        limits: dict[str, RateLimit] = {
            "identity": self._edge.rate_limits.identity,
            "payments": self._edge.rate_limits.payments,
        }
        allowed = self._edge.rate_limit_entitlement
        host = self._args.api_host if allowed.host_field else None
        groups: list[tuple[str, str, list[str], RateLimit]] = [
            (
                name,
                catalog.service(name).title,
                self._args.rate_limited_paths(name),
                limit,
            )
            for name, limit in limits.items()
        ]
        if allowed.shares_one_rule:
            # One rule for every service, with identity's threshold (settings make payments'
            # the same on such a plan).
            groups = [
                (
                    "identity-and-payments",
                    " and ".join(title for _, title, _, _ in groups),
                    [path for _, _, paths, _ in groups for path in paths],
                    limits["identity"],
                )
            ]
        per = "client" if allowed.characteristic != "ip.src" else "client IP"
        rules = [
            cloudflare.RulesetRuleArgs(
                ref=f"rate-limit-{key}",
                action="block",
                expression=rate_limit_expression(host, paths),
                description=f"{title}: {limit.requests} requests per "
                f"{limit.period_seconds}s per {per}",
                ratelimit=cloudflare.RulesetRuleRatelimitArgs(
                    characteristics=[allowed.characteristic, COLO],
                    period=limit.period_seconds,
                    requests_per_period=limit.requests,
                    mitigation_timeout=limit.mitigation_seconds,
                ),
            )
            for key, title, paths, limit in groups
        ]
        self._ruleset(
            "rate-limits", "http_ratelimit", "Login, token and payment rate limits", rules
        )

    def _cache(self, web_hosts: Sequence[str], api_host: str) -> None:
        ttl = self._edge.cache
        self._ruleset(
            "cache",
            "http_request_cache_settings",
            "Fingerprinted assets cached long; the origin's headers for the rest; never the API",
            [
                # First: where several cache rules match, the later rule's settings win.
                cloudflare.RulesetRuleArgs(
                    ref="static-assets-origin-headers",
                    action="set_cache_settings",
                    expression=static_assets_expression(web_hosts),
                    description="Web clients' other static files: cached as the origin says",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        cache=True,
                        edge_ttl=cloudflare.RulesetRuleActionParametersEdgeTtlArgs(
                            mode="respect_origin"
                        ),
                        browser_ttl=cloudflare.RulesetRuleActionParametersBrowserTtlArgs(
                            mode="respect_origin"
                        ),
                    ),
                ),
                cloudflare.RulesetRuleArgs(
                    ref="fingerprinted-assets",
                    action="set_cache_settings",
                    expression=fingerprinted_expression(web_hosts, ttl.fingerprinted_prefixes),
                    description="Content-hashed build output: never changes under its name",
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
                    ref="api-never-cached",
                    action="set_cache_settings",
                    expression=f"({host_is(api_host)})",
                    description="API responses are never cached",
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(cache=False),
                ),
            ],
        )

    def _origin_lock(self, hosts: Sequence[str], origin: Origin) -> None:
        self._ruleset(
            "origin-lock",
            "http_request_late_transform",
            "Origin lock: proves to the ALB that a request came through this edge",
            [
                cloudflare.RulesetRuleArgs(
                    ref="origin-lock-header",
                    action="rewrite",
                    expression=f"({host_is(*hosts)})",
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

    def _origin_pulls(self, origin: Origin) -> None:
        """Zone-level Authenticated Origin Pulls with the stack's own client certificate:
        the ALB admits only TLS clients that present it."""
        if origin.client_cert_pem is None or origin.client_key_pem is None:
            return
        certificate = cloudflare.AuthenticatedOriginPullsCertificate(
            f"{self._name}-origin-pull-cert",
            zone_id=self._zone,
            certificate=origin.client_cert_pem,
            private_key=origin.client_key_pem,
            opts=self._child,
        )
        cloudflare.AuthenticatedOriginPullsSettings(
            f"{self._name}-origin-pulls",
            zone_id=self._zone,
            enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[certificate]),
        )

    def _waiting_room(self) -> None:
        """The on-sale queue in front of the ticketing API (settings refuse it below Business)."""
        room = self._edge.waiting_room
        if not room.enabled:
            return
        ticketing = self._args.path_prefixes["ticketing"]
        cloudflare.WaitingRoom(
            f"{self._name}-waiting-room",
            zone_id=self._zone,
            name=f"{self._args.environment}_ticketing_on_sale",
            description="On-sale queue for the ticketing API",
            host=self._args.api_host,
            path=ticketing,
            total_active_users=room.total_active_users,
            new_users_per_minute=room.new_users_per_minute,
            session_duration=room.session_duration_minutes,
            queueing_method="fifo",
            queueing_status_code=WAITING_ROOM_STATUS,
            opts=self._child,
        )

    def _notifications(self) -> None:
        """DDoS and origin alerts the zone plan includes, e-mailed to the alarm addresses."""
        account, emails = self._edge.account_id, self._args.alarm_emails
        if account is None or not emails:
            return
        mechanisms = cloudflare.NotificationPolicyMechanismsArgs(
            emails=[cloudflare.NotificationPolicyMechanismsEmailArgs(id=e) for e in emails]
        )
        titles = {
            "dos_attack_l7": "HTTP DDoS attack mitigated",
            "real_origin_monitoring": "Origin unreachable (521)",
            "http_alert_origin_error": "Origin error rate above SLO",
        }
        for alert in self._edge.entitlements.alert_types:
            filters = (
                cloudflare.NotificationPolicyFiltersArgs(zones=[self._zone], slos=["99.7"])
                if alert == "http_alert_origin_error"
                else None
            )
            cloudflare.NotificationPolicy(
                f"{self._name}-alert-{alert.replace('_', '-')}",
                account_id=account,
                alert_type=alert,
                name=f"{self._args.environment}: {titles[alert]}",
                enabled=True,
                mechanisms=mechanisms,
                filters=filters,
                opts=self._child,
            )

    def _ruleset(
        self,
        suffix: str,
        phase: str,
        description: str,
        rules: Sequence[cloudflare.RulesetRuleArgs],
    ) -> cloudflare.Ruleset:
        """The zone's entry-point ruleset for `phase` (one per zone and phase).

        With `cloudflare.adopt.<phase>` set, the zone's existing entry point is imported
        instead of created; its rules are left as they are for that first deployment
        (`ignore_changes`), so the import matches, and the next one, with the key removed,
        replaces them with these.
        """
        adopted = next((id_ for key, id_ in self._edge.adopt.items() if key == phase), None)
        opts = self._child
        if adopted is not None:
            opts = pulumi.ResourceOptions.merge(
                self._child,
                pulumi.ResourceOptions(
                    import_=ruleset_import_id(self._zone, adopted),
                    ignore_changes=["rules", "name", "description"],
                ),
            )
        return cloudflare.Ruleset(
            f"{self._name}-{suffix}",
            zone_id=self._zone,
            kind="zone",
            phase=phase,
            name=f"ticketing {phase}",
            description=description,
            rules=list(rules),
            opts=opts,
        )
