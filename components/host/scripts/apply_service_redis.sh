# shellcheck shell=bash
## The env file of a service's own Redis container (apply_service.sh).
ENV=$(pick "$__VAR__" __KEY__ | env_line __NAME__)
put 0600 __ENV_FILE__ "$ENV"
