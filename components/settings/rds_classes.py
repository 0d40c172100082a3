"""The RDS instance classes a stack may run: their memory and PostgreSQL's connection limit.

RDS for PostgreSQL's default `max_connections` is the parameter-group formula
`LEAST({DBInstanceClassMemory/9531392},5000)` (`CONNECTIONS_SOURCE`; AWS Prescriptive
Guidance's "max_connections" page gives the same default and says the parameter is
static). Each class's memory is AWS's published figure (`MEMORY_SOURCE`). RDS
evaluates the formula over `DBInstanceClassMemory`, which it does not publish per
class, so the program does not leave the limit to it: the parameter group sets
`max_connections` to this table's number (static, so `pending-reboot`), and the
connections alarm fires at a fraction of that same number, which is therefore below
the real limit on every class, the small ones included.

The table holds the classes the price table (`plan/prices/<region>.yaml`) prices, no
more: a class missing here is refused by the settings with the page to copy it from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

MEMORY_SOURCE: Final = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html"
)
CONNECTIONS_SOURCE: Final = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html"
    "#RDS_Limits.MaxConnections"
)
# LEAST({DBInstanceClassMemory/9531392},5000): bytes of memory per connection, and the cap.
BYTES_PER_CONNECTION: Final = 9_531_392
CONNECTIONS_CAP: Final = 5000

MEMORY_GIB: Final[Mapping[str, int]] = {
    "db.t4g.micro": 1,
    "db.t4g.small": 2,
    "db.t4g.medium": 4,
    "db.t4g.large": 8,
    "db.t4g.xlarge": 16,
    "db.m6g.large": 8,
    "db.m6g.xlarge": 16,
}


def connection_limit(memory_gib: int) -> int:
    """`LEAST({memory/9531392},5000)` for `memory_gib` GiB, integer division as RDS does."""
    return min(memory_gib * 1024**3 // BYTES_PER_CONNECTION, CONNECTIONS_CAP)


# The max_connections the parameter group sets, by class.
CONNECTION_LIMITS: Final[Mapping[str, int]] = {
    name: connection_limit(gib) for name, gib in MEMORY_GIB.items()
}


def memory_gib(instance_class: str) -> int:
    """The memory (GiB) of `instance_class`; the settings refuse classes the table lacks."""
    return MEMORY_GIB[instance_class]


def max_connections(instance_class: str) -> int:
    """The `max_connections` the program sets on an instance of `instance_class`."""
    return CONNECTION_LIMITS[instance_class]


def unknown_class(instance_class: str) -> str:
    """The error text for a class the table lacks."""
    return (
        f"the memory of {instance_class} is not in components/settings/rds_classes.py; "
        f"add it from {MEMORY_SOURCE} (and its price to plan/prices)"
    )
