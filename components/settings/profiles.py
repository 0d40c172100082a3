"""Per-environment defaults: a stack file states only what differs from its profile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "network": {"natMode": "instance"},
        "ingress": {"staticIps": False},
        # One replica each: a second set does not fit a t3.medium, so a deploy of a changed
        # service answers 502 until its one container is healthy again.
        "appHost": {"dataVolumeGb": 10, "replicas": 1},
        "database": {
            "backupRetentionDays": 1,
            "multiAz": False,
            "deletionProtection": False,
            "enhancedMonitoringSeconds": 0,
            "backupWindow": "01:00-01:30",
            "maintenanceWindow": "tue:03:00-tue:03:30",
        },
        # dev's alarms still notify; its $3 dashboard would take it over its $100 a month.
        "observability": {"logRetentionDays": 14, "dashboard": False},
        "backup": {"retentionDays": 0},
        "cloudflare": {"hstsMaxAge": 300},
    },
    "staging": {
        "network": {"natMode": "single"},
        "ingress": {"staticIps": True, "accessLogDays": 30},
        "database": {
            "backupRetentionDays": 7,
            "multiAz": True,
            "deletionProtection": True,
            "enhancedMonitoringSeconds": 60,
            # Maintenance a day before prod's, so staging shows what it changes first.
            "backupWindow": "01:30-02:00",
            "maintenanceWindow": "wed:03:00-wed:04:00",
        },
        "observability": {"logRetentionDays": 30},
        "backup": {"retentionDays": 14},
        "cloudflare": {"hstsMaxAge": 86_400},
    },
    "prod": {
        "network": {"natMode": "per-az", "azCount": 3},
        "ingress": {"staticIps": True, "accessLogDays": 90},
        "database": {
            "instanceClass": "db.t4g.medium",
            "allocatedStorageGb": 50,
            "maxAllocatedStorageGb": 500,
            "backupRetentionDays": 14,
            "multiAz": True,
            "deletionProtection": True,
            "enhancedMonitoringSeconds": 60,
            "backupWindow": "02:00-03:00",
            "maintenanceWindow": "thu:04:00-thu:05:00",
        },
        # Two replicas of each container (8768 MiB in its stack file) need 16 GiB.
        "appHost": {"instanceType": "m6i.xlarge", "rootVolumeGb": 50, "dataVolumeGb": 100},
        "observability": {"logRetentionDays": 90},
        "backup": {"retentionDays": 35},
        "cloudflare": {"hstsMaxAge": 31_536_000, "ddosSensitivity": "default"},
    },
}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(cast(dict[str, Any], merged[key]), cast(dict[str, Any], value))
        else:
            merged[key] = value
    return merged
