#!/usr/bin/env bash
# scripts/drift_issue.sh STACK EXIT_CODE PREVIEW_FILE
#
# Keeps one open GitHub issue per stack, titled "Drift: <stack>" and labelled `drift`,
# in step with `pulumi preview --refresh --expect-no-changes` (its exit code and output):
# a failed preview opens the issue, or updates the open one; a clean preview closes it.
# Uses the gh CLI (GH_TOKEN with issues: write); RUN_URL, when set, links the run.
# Exits with the preview's code, so a drifting stack leaves its run red.
set -euo pipefail

stack=${1:?usage: drift_issue.sh STACK EXIT_CODE PREVIEW_FILE}
code=${2:?usage: drift_issue.sh STACK EXIT_CODE PREVIEW_FILE}
preview=${3:?usage: drift_issue.sh STACK EXIT_CODE PREVIEW_FILE}
title="Drift: ${stack}"
label=drift
# An issue body holds at most 65,536 characters; the end of a preview has the summary.
max_chars=60000

open_issue=$(gh issue list --state open --label "$label" --limit 100 \
  --json number,title --jq ".[] | select(.title == \"${title}\") | .number" | head -n 1)

if [[ "$code" == 0 ]]; then
  if [[ -n "$open_issue" ]]; then
    gh issue close "$open_issue" \
      --comment "No drift: \`pulumi preview --refresh --expect-no-changes\` found nothing to change${RUN_URL:+ (${RUN_URL})}."
  fi
  exit 0
fi

body=$(mktemp)
{
  echo "\`pulumi preview --refresh --expect-no-changes\` on \`${stack}\` did not come back clean"
  echo "(exit code ${code}): the resources differ from the program, or the preview failed."
  [[ -n "${RUN_URL:-}" ]] && echo "Run: ${RUN_URL}"
  echo
  echo '```'
  tail -c "$max_chars" "$preview"
  echo '```'
} >"$body"

if [[ -n "$open_issue" ]]; then
  gh issue edit "$open_issue" --body-file "$body"
else
  gh label create "$label" --force --color D93F0B \
    --description "A stack's resources differ from the program"
  gh issue create --title "$title" --label "$label" --body-file "$body"
fi
rm -f "$body"
exit "$code"
