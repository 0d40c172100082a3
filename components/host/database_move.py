"""The SQL of a database's move from the shared instance to its own. No Pulumi.

`scripts/apply_service_database_move.sh` runs it on the app host with psql, as each
instance's master user (a member of every service role the bootstrap created, so it
reads and restores the service's tables; `pg_restore --role` makes the service role
own what it restores). Every statement takes its names as literals, so the SQL is the
same text on both sides and holds no secret.
"""

from __future__ import annotations

from components.host.bootstrap_sql import literal

# The comment a moved database carries on its own instance: the move's only state, kept
# with the data, so a replaced host never copies twice.
MOVED = "ticketing: moved from the shared instance"

# A move's view of one table: its rows and the sum of their 64-bit hashes, which needs no
# ordering and no memory beyond one row (a string_agg of a big table would hit PostgreSQL's
# 1 GB value limit); and of one sequence, where it stands.
_TABLES = (
    "SELECT format('SELECT %L, count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)"
    " FROM %I.%I AS t', n.nspname || '.' || c.relname, n.nspname, c.relname)"
)
_SEQUENCES = (
    "SELECT format('SELECT %L, last_value, is_called FROM %I.%I',"
    " n.nspname || '.' || c.relname, n.nspname, c.relname)"
)
_RELATIONS = (
    " FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
    " WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
)


def held(database: str) -> str:
    """`held` when the (shared) instance has `database`, `absent` when it never had."""
    return (
        "SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_database"
        f" WHERE datname = {literal(database)}) THEN 'held' ELSE 'absent' END;"
    )


def state(database: str) -> str:
    """`missing`, `moved` (it carries `MOVED`) or `present`, on the (dedicated) instance."""
    return (
        "SELECT coalesce((SELECT CASE WHEN pg_catalog.shobj_description(oid, 'pg_database')"
        f" LIKE {literal(MOVED + '%')} THEN 'moved' ELSE 'present' END"
        f" FROM pg_catalog.pg_database WHERE datname = {literal(database)}), 'missing');"
    )


def relations() -> str:
    """How many tables, views, sequences, indexes and the like the current database holds."""
    return "SELECT count(*)" + _RELATIONS + ";"


def fingerprint() -> str:
    """One line per table (rows, hash sum) and per sequence (value), in name order."""
    return "\n".join(
        [
            _TABLES + _RELATIONS + " AND c.relkind IN ('r', 'p') ORDER BY 1 \\gexec",
            _SEQUENCES + _RELATIONS + " AND c.relkind = 'S' ORDER BY 1 \\gexec",
        ]
    )


def mark(database: str) -> str:
    """`database` marked as moved, with the time of the move."""
    return (
        "SELECT format('COMMENT ON DATABASE %I IS %L',"
        f" {literal(database)}, {literal(MOVED + ' at ')} || now()) \\gexec"
    )
