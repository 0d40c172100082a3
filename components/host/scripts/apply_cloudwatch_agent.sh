# shellcheck shell=bash
## The CloudWatch agent in the apply script (apply_host.sh; components/host/cloudwatch_agent.py),
## before anything of the apply is written: a failed install or a refused configuration
## fails the run and leaves the host's services as they were. Installed once (its control
## script missing), from AWS's .deb, only if its detached signature verifies against AWS's
## key AND that key is the pinned one: gpgv trusts any key in its keyring, so the signer's
## primary fingerprint (VALIDSIG's last field) must match too. python3 downloads (no curl)
## and dearmors (gpgv reads binary keyrings only).
## Configured when the configuration differs from the one last applied (__CONFIG_FILE__)
## or the agent is not running; otherwise the agent is left alone (no restart).

# The CloudWatch agent (disk and memory use): installed once, restarted only on a change.
agent_download() {
  python3 -c 'import shutil,sys,urllib.request; url, path = sys.argv[1:]
try:
    with urllib.request.urlopen(url, timeout=120) as r, open(path, "wb") as f: shutil.copyfileobj(r, f)
except OSError as e: sys.exit(f"could not download {url}: {e}")' "$1" "$2"
}
agent_dearmor() {
  python3 -c 'import base64,itertools,sys; data = sys.stdin.buffer.read()
begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
if begin.encode() not in data: sys.stdout.buffer.write(data); sys.exit()
lines = data.decode("ascii").replace("\r", "").split("\n")
start = lines.index("", lines.index(begin)) + 1
body = itertools.takewhile(lambda line: not line.startswith(("=", "-----")), lines[start:])
sys.stdout.buffer.write(base64.b64decode("".join(body)))'
}
if [ ! -x __CTL__ ]; then
  agent_dir=$(mktemp -d)
  ## An assignment of its own: a failing $(...) inside an argument would not stop the script.
  agent_arch=$(dpkg --print-architecture)
  agent_package="__BUCKET_URL__/ubuntu/$agent_arch/latest/amazon-cloudwatch-agent.deb"
  agent_download "$agent_package" "$agent_dir/agent.deb"
  agent_download "$agent_package.sig" "$agent_dir/agent.deb.sig"
  agent_download "__KEY_URL__" "$agent_dir/key"
  agent_dearmor <"$agent_dir/key" >"$agent_dir/keyring.gpg"
  agent_verified=$(gpgv --status-fd 1 --keyring "$agent_dir/keyring.gpg" \
    "$agent_dir/agent.deb.sig" "$agent_dir/agent.deb" 2>/dev/null) || agent_verified=""
  if ! grep -q '^\[GNUPG:\] VALIDSIG .* __FINGERPRINT__$' <<<"$agent_verified"; then
    rm -rf "$agent_dir"
    echo "the CloudWatch agent package is not signed by __FINGERPRINT__: not installed" >&2
    exit 1
  fi
  dpkg -i "$agent_dir/agent.deb" >/dev/null
  rm -rf "$agent_dir"
fi
## Builtins only (read, $(<file)): no cat.
IFS= read -r -d '' AGENT_CONFIG <<'AGENT_JSON' || true
__CONFIG__
AGENT_JSON
AGENT_CONFIG=${AGENT_CONFIG%$'\n'}
agent_status=$(__CTL__ -a status)
if ! { [ -f __CONFIG_FILE__ ] && [ "$(<__CONFIG_FILE__)" = "$AGENT_CONFIG" ]; } \
  || [[ $agent_status != *'"status": "running"'* ]]; then
  agent_tmp=$(mktemp __CONFIG_FILE__.XXXXXX)
  printf '%s\n' "$AGENT_CONFIG" >"$agent_tmp"
  chmod 0644 "$agent_tmp"
  mv -f "$agent_tmp" __CONFIG_FILE__
  ## -s: (re)start with it. Refused, the file goes, so the next run applies it again.
  if ! __CTL__ -a fetch-config -m ec2 -s -c file:__CONFIG_FILE__ >/dev/null; then
    rm -f __CONFIG_FILE__
    echo "the CloudWatch agent refused its configuration" >&2
    exit 1
  fi
  echo "CloudWatch agent configured and (re)started"
fi
