"""A small, pure simulator of Cloudflare's rate limiting over the rules the edge renders.

Semantics, from Cloudflare's "How Cloudflare determines the request rate"
(developers.cloudflare.com/waf/rate-limiting-rules/request-rate/): a rule keeps one
counter per distinct value of its characteristics; a request that matches the rule's
expression increments its counter, and once a counter exceeds the requests per period
within the period, that client's further requests get the rule's action for the
mitigation timeout. A custom rule with the Skip action and `phases: [http_ratelimit]`
takes a matching request out of rate limiting altogether.

All requests here arrive within one counting period at one data centre. The
expression evaluator covers the Rules language subset the edge renders (`eq`, `in`
with string and IP sets, `starts_with`, `and`, `or`, `not`, parentheses); the tests
parse every expression with wirefilter first, so it only ever sees valid syntax.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r'\s*(?:(?P<str>"[^"]*")|(?P<punct>[(){},])|(?P<word>[^\s(){},"]+))')


@dataclass(frozen=True)
class Request:
    """One request as the rule language sees it; `visitor` is who sent it (one attendee,
    one attacker), which Cloudflare's "IP with NAT support" tells apart behind an address."""

    visitor: str
    ip: str
    host: str
    path: str

    def field(self, name: str) -> Any:
        return {
            "http.host": self.host,
            "http.request.uri.path": self.path,
            "ip.src": self.ip,
            "cf.unique_visitor_id": self.visitor,
            "cf.colo.id": 1,
        }[name]


def _tokens(expression: str) -> list[str]:
    found: list[str] = []
    position = 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot read {expression[position:]!r}")
        found.append(next(v for v in match.groupdict().values() if v is not None))
        position = match.end()
    return found


class _Evaluator:
    def __init__(self, expression: str, request: Request) -> None:
        self.tokens, self.at, self.request = _tokens(expression), 0, request

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected}, got {token}")
        self.at += 1
        return token

    def run(self) -> bool:
        value = self.disjunction()
        if self.peek() is not None:
            raise ValueError(f"trailing {self.peek()}")
        return value

    def disjunction(self) -> bool:
        value = self.conjunction()
        while self.peek() == "or":
            self.take()
            value = self.conjunction() or value
        return value

    def conjunction(self) -> bool:
        value = self.negation()
        while self.peek() == "and":
            self.take()
            value = self.negation() and value
        return value

    def negation(self) -> bool:
        if self.peek() == "not":
            self.take()
            return not self.negation()
        return self.primary()

    def primary(self) -> bool:
        token = self.take()
        if token == "(":
            value = self.disjunction()
            self.take(")")
            return value
        if token == "starts_with":
            self.take("(")
            field = self.take()
            self.take(",")
            prefix = self.take().strip('"')
            self.take(")")
            return str(self.request.field(field)).startswith(prefix)
        value, operator = self.request.field(token), self.take()
        if operator == "eq":
            return value == self.take().strip('"')
        if operator == "in":
            self.take("{")
            members: list[str] = []
            while self.peek() != "}":
                members.append(self.take())
            self.take("}")
            if token == "ip.src":
                address = ipaddress.ip_address(value)
                return any(address in ipaddress.ip_network(m) for m in members)
            return value in {m.strip('"') for m in members}
        raise ValueError(f"operator {operator} is not simulated")


def matches(expression: str, request: Request) -> bool:
    return expression == "true" or _Evaluator(expression, request).run()


def blocked(
    rate_limit_rules: Sequence[Mapping[str, Any]],
    custom_rules: Sequence[Mapping[str, Any]],
    requests: Iterable[Request],
) -> set[str]:
    """The visitors any rate-limiting rule blocks within one period."""
    counters: list[Counter[tuple[Any, ...]]] = [Counter() for _ in rate_limit_rules]
    out: set[str] = set()
    for request in requests:
        skipped = any(
            rule["action"] == "skip"
            and "http_ratelimit" in rule.get("actionParameters", {}).get("phases", [])
            and matches(rule["expression"], request)
            for rule in custom_rules
        )
        if skipped:
            continue
        for rule, counter in zip(rate_limit_rules, counters, strict=True):
            if not matches(rule["expression"], request):
                continue
            limit = rule["ratelimit"]
            key = tuple(request.field(c) for c in limit["characteristics"])
            counter[key] += 1
            if counter[key] > limit["requestsPerPeriod"]:
                out.add(request.visitor)
    return out
