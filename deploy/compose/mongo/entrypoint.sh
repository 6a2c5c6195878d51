#!/bin/bash
# mongod refuses a replica-set key file that others may read, and Compose mounts secrets as they
# are on the host (0644): copy it, private to the mongodb user, then start as the image does.
set -euo pipefail
install -m 0400 -o mongodb -g mongodb /run/secrets/mongo_keyfile /data/configdb/keyfile
exec docker-entrypoint.sh "$@"
