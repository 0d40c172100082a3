# shellcheck shell=bash
## The definitions of a service's own RabbitMQ container (apply_service.sh).
install -d -m 0755 __DIR__
DEFS=$(pick "$__VAR__" __KEY__)
## The broker runs as its own user in the container and must read the (hashed) file.
put 0644 __DEFINITIONS_FILE__ "$DEFS"
## Its boot config: import that file, and the memory alarm from the container's limit.
put 0644 __CONFIG_FILE__ __CONFIG__
