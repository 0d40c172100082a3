# shellcheck shell=bash
## The private registry login in the apply script (apply_host.sh), before anything of the
## apply is written, so a refused login leaves the host as it was. The password (a token)
## is the SecureString the config names and reaches docker on stdin only; docker keeps
## the login in root's ~/.docker/config.json for Compose's pulls.

# Log in to the private registry before Compose pulls from it.
aws ssm get-parameter --name '{{ RegistryPasswordParameter }}' --with-decryption \
  --query Parameter.Value --output text \
  | docker login --username '{{ RegistryUsername }}' --password-stdin '{{ RegistryServer }}' \
    >/dev/null
