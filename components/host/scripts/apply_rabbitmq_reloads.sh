# shellcheck shell=bash
## After the files are written, before compose converges (apply_host.sh): one
## apply_rabbitmq_reload.sh per service that uses RabbitMQ.

# A running RabbitMQ imports its current definitions now (password rotation).
__RELOADS__
