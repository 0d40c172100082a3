# shellcheck shell=bash disable=SC2034
## One domain service's files in the apply script (apply_host.sh). __VAR__ holds the
## service's parameters for the later steps (apply_database.sh reads its password).

# __SERVICE__: env file(s) and definitions from its SecureString parameters.
__VAR__=$(by_path '__PATH__')
ENV=$(__ENV_LINES__)
put 0600 __ENV_FILE__ "$ENV"
## apply_service_redis.sh, apply_service_rabbitmq.sh where the service uses them.
__REDIS__
__RABBITMQ__
