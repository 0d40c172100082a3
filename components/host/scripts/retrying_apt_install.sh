# shellcheck shell=sh
## User data's one install of archive packages at first boot (components/host/packages.py),
## run by cloud-init with /bin/sh; it retries while the NAT route settles.
attempt=1
until __APT__ update && __APT_INSTALL__ __PACKAGES__; do
  ## A number once rendered; shellcheck sees the placeholder.
  # shellcheck disable=SC2170
  if [ "$attempt" -ge __ATTEMPTS__ ]; then
    echo "could not install __PACKAGES__" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep __PAUSE_SECONDS__
done
