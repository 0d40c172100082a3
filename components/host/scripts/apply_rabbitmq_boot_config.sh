# shellcheck shell=bash
## The boot config every RabbitMQ container on the host mounts (apply_host.sh).
put 0644 __FILE__ __CONTENT__
