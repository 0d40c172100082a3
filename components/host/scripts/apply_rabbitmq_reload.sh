# shellcheck shell=bash
## One running RabbitMQ container re-reads its definitions file (apply_rabbitmq_reloads.sh).
if [ -n "$(docker compose -f __COMPOSE_FILE__ ps -q --status running __CONTAINER__)" ]; then
  docker compose -f __COMPOSE_FILE__ exec -T __CONTAINER__ rabbitmqctl import_definitions __DEFINITIONS_PATH__
fi
