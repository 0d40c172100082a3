# shellcheck shell=bash
## The apply document's install of whichever host package is missing
## (components/host/packages.py): every package is probed first, so apt and snap run
## only for what is absent, and a failed install stops the script (`set -e`).
MISSING=()
__PROBES__
if [ "${#MISSING[@]}" -gt 0 ]; then
  __APT__ update
  __APT_INSTALL__ "${MISSING[@]}"
fi
## Installed but stopped or disabled is as broken as missing: enabling is idempotent.
__ENABLE_SERVICES__
__SNAPS__
