# shellcheck shell=sh
## User data's first step (components/host/app_user_data.py), before Docker is installed:
## the host's data volume, an EBS volume attached once the instance runs, becomes Docker's
## data root, so the named volumes (RabbitMQ's queues) outlive the instance. A blank
## volume is formatted once; one that already holds a file system (the volume of a
## replaced host) is mounted as it is, never formatted again.
waited=0
## The device paths once rendered (several words); shellcheck sees one placeholder.
# shellcheck disable=SC2043
until device=$(for candidate in __DEVICES__; do [ -b "$candidate" ] && echo "$candidate" && break; done) && [ -n "$device" ]; do
  ## A number once rendered; shellcheck sees the placeholder.
  # shellcheck disable=SC2170
  if [ "$waited" -ge __WAIT_SECONDS__ ]; then
    echo "data volume not attached after __WAIT_SECONDS__ s (looked for __DEVICES__)" >&2
    exit 1
  fi
  sleep 5
  waited=$((waited + 5))
done
## -p probes the device itself: blkid's cache may remember a file system that is gone.
if ! blkid -p -o value -s TYPE "$device" >/dev/null 2>&1; then
  mkfs.ext4 -q -L __LABEL__ "$device"
fi
uuid=$(blkid -p -o value -s UUID "$device")
mkdir -p __MOUNT_POINT__
grep -q "^UUID=$uuid " __FSTAB__ 2>/dev/null ||
  echo "UUID=$uuid __MOUNT_POINT__ ext4 defaults,nofail,x-systemd.device-timeout=300 0 2" >>__FSTAB__
mountpoint -q __MOUNT_POINT__ || mount "$device" __MOUNT_POINT__
