#!/bin/bash
## The NAT instance's user data (components/host/nat_user_data.py); Amazon Linux 2023 runs
## it once, at first boot.
# NAT instance for __VPC_CIDR__, rendered by NatInstance.
set -euo pipefail

cat > __SYSCTL_FILE__ <<'EOF'
__SYSCTL_CONF__
EOF
sysctl -p __SYSCTL_FILE__

## The Elastic IP is associated only after the instance is running: retry the install.
attempt=1
until dnf install -y __PACKAGE__; do
  ## A number once rendered; shellcheck sees the placeholder.
  # shellcheck disable=SC2170
  if [ "$attempt" -ge __INSTALL_ATTEMPTS__ ]; then
    echo "nat: could not install __PACKAGE__" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep __INSTALL_PAUSE_SECONDS__
done

## The primary interface (ens5 on Nitro) is read from the default route, not assumed.
iface="$(ip -4 route show default | awk '{print $5; exit}')" || iface=""
if [ -z "$iface" ]; then
  echo "nat: no default route to find the primary interface" >&2
  exit 1
fi

## Unquoted here-document: the rules name the interface as ${iface}.
cat > __RULES_FILE__ <<EOF
__RULES__
EOF
chmod 0600 __RULES_FILE__
systemctl enable iptables.service
systemctl restart iptables.service
