# shellcheck shell=bash
## One classic snap the apply document installs when it is missing (install_missing.sh).
if ! __PRESENT__ >/dev/null 2>&1; then
  ## A first boot's snapd refuses installs until it has seeded its own snaps.
  snap wait system seed.loaded
  snap install __SNAP__ --classic
fi
