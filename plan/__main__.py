"""`python -m plan [STACK] [--json FILE] [--policy-pack-config FILE] [--backend URL]
[--organization ORG] [--set PATH=VALUE ...]`: the offline plan of one committed stack.

Runs the real program under the SDK's mock engine with the stack file's config:
no credentials, no Pulumi CLI, no network. Exit codes: 0 clean, 1 a mandatory
policy is violated, 2 a config or program error (one line).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from plan.model import Plan

EXIT_OK, EXIT_POLICY, EXIT_ERROR = 0, 1, 2


class _RefusalError(Exception):
    """A one-line refusal already printed: the plan ends with `EXIT_ERROR`."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    err = Console(stderr=True)
    try:
        plan, policy_config = _capture(args, err)
        return _report(plan, args, policy_config, console, err)
    except _RefusalError:
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument(
        "stack", nargs="?", default="dev", help="committed stack name (default dev)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the plan as JSON")
    parser.add_argument(
        "--policy-pack-config",
        type=Path,
        metavar="FILE",
        help="policy pack config, the JSON file `pulumi preview --policy-pack-config` takes",
    )
    parser.add_argument(
        "--backend",
        metavar="URL",
        help="state backend the stack runs on, as `pulumi login` takes it: https://api.pulumi.com "
        "(default, or $PULUMI_BACKEND_URL) or s3://, gs://, azblob://, file://",
    )
    parser.add_argument(
        "--organization",
        metavar="ORG",
        help="Pulumi Cloud organization the stack runs in (default example-tickets; a "
        "self-managed backend has only `organization`)",
    )
    parser.add_argument(
        "--probe-docker-host",
        action="store_true",
        help="connect to a venue stack's Docker host first, as pulumi preview does",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="plan the stack with one config value changed, as `pulumi config set --path` "
        "would write it (services.ticketing.host=ecs); repeatable, the stack file is untouched",
    )
    parser.add_argument("--traceback", action="store_true", help="show a program error in full")
    parser.add_argument("--project-dir", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def _refuse(err: Console, message: str, *, prefix: str = "error:") -> _RefusalError:
    err.print(f"[red]{prefix}[/] {message}", highlight=False, soft_wrap=True)
    return _RefusalError()


def _capture(args: argparse.Namespace, err: Console) -> tuple[Plan, dict[str, object] | None]:
    """The captured plan and the policy pack config, or `_RefusalError` after a one-line error."""
    # Imported here so `--help` stays instant.
    from components.settings import ConfigError
    from plan import constraints, engine, policy, stack_config
    from plan.backends import Backend, BackendError
    from plan.config_paths import path_overrides

    try:
        backend = Backend.of(args.backend, args.organization)
    except BackendError as exc:
        raise _refuse(err, escape(str(exc))) from None
    policy_config: dict[str, object] | None = None
    if args.policy_pack_config:
        try:
            policy_config = policy.load_config(args.policy_pack_config)
        except policy.PolicyConfigError as exc:
            raise _refuse(err, escape(f"--policy-pack-config {exc}")) from None
    project_dir = args.project_dir or engine.PROJECT_DIR
    try:
        plan = engine.capture(
            args.stack,
            project_dir=project_dir,
            backend=backend,
            probe_docker_host=args.probe_docker_host,
            overrides=path_overrides(project_dir, args.stack, args.set),
        )
    except (ConfigError, stack_config.StackConfigError, engine.ProgramError) as exc:
        raise _refuse(err, str(exc)) from None
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        where = traceback.extract_tb(exc.__traceback__)[-1]
        raise _refuse(
            err,
            f"{type(exc).__name__}: {exc} "
            f"({Path(where.filename).name}:{where.lineno}; --traceback for more)",
            prefix="program error:",
        ) from None
    # What the AWS API would refuse at `pulumi up`, refused here before anything is reported.
    refused = constraints.check(plan.resources)
    for violation in refused:
        _refuse(err, escape(violation.line()))
    if refused:
        raise _RefusalError
    return plan, policy_config


def _report(
    plan: Plan,
    args: argparse.Namespace,
    policy_config: dict[str, object] | None,
    console: Console,
    err: Console,
) -> int:
    """Resources, cost, diagram and policy verdicts of `plan`; the exit code."""
    from plan import cost, diagram, policy, report

    report.print_plan(plan, console)
    try:
        estimate = cost.estimate(plan, cost.load_prices(cost.region_of(plan)))
    except cost.PriceError as exc:
        raise _refuse(err, str(exc)) from None
    if estimate.items:
        console.print(cost.cost_table(estimate))
    else:
        console.print(
            "cost: nothing this stack creates is billed by the hour or the month "
            "(IAM is free; venue hardware is not estimated)"
        )
    drawn = diagram.write_diagram(plan, Path("build") / args.stack)
    console.print(f"diagram: {drawn.svg or drawn.dot}", highlight=False)
    if drawn.hint:
        console.print(drawn.hint, highlight=False, soft_wrap=True)
    verdicts = policy.evaluate(plan, policy_config, stack_config=plan.config)
    policy.print_report(verdicts, console)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        extra = {"cost": estimate.as_dict(), "policy": policy.document(verdicts)}
        doc = report.document(plan, extra=extra)
        args.json.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    counts = report.provider_counts(plan)
    console.print(
        f"[bold green]plan {args.stack}:[/] {sum(counts.values())} resources "
        f"({', '.join(f'{n} {b}' for b, n in sorted(counts.items()))}), "
        f"{len(plan.outputs)} outputs, {verdicts.rules_run} policy rules and "
        f"{policy.checks_phrase(verdicts)} run, "
        f"{len(verdicts.mandatory_violations)} mandatory violations"
    )
    return EXIT_OK if verdicts.passed else EXIT_POLICY


if __name__ == "__main__":
    # One short run: the cyclic collector only slows the SDKs' import (thousands of
    # classes, no garbage worth finding), and tearing the interpreter down again
    # takes longer than the plan itself; every file is closed, so flush and leave.
    gc.disable()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
