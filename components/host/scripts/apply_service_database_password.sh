# shellcheck shell=bash disable=SC2034
## A service that runs elsewhere (on ECS) whose database this host bootstraps
## (apply_host.sh): of its parameters, only the database password, for apply_database.sh.

# __SERVICE__ runs elsewhere: only its database password, for the bootstrap.
__VAR__=$(by_names '__PATH__' __KEY__)
