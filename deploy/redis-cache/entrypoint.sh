#!/bin/sh
# Start the prediction cache with the ACL users of users.acl.template, whose passwords come from
# the environment (FTI_REDIS_WRITER_PASSWORD, FTI_REDIS_READER_PASSWORD,
# FTI_REDIS_OPERATOR_PASSWORD; see .env.example).
# Only their SHA-256 is written to the rendered ACL file. Extra arguments go to redis-server.
set -eu

: "${FTI_REDIS_WRITER_PASSWORD:?FTI_REDIS_WRITER_PASSWORD must be set (see .env.example)}"
: "${FTI_REDIS_READER_PASSWORD:?FTI_REDIS_READER_PASSWORD must be set (see .env.example)}"
: "${FTI_REDIS_OPERATOR_PASSWORD:?FTI_REDIS_OPERATOR_PASSWORD must be set (see .env.example)}"

here="$(dirname "$0")"
acl=/usr/local/etc/redis/users.acl

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

mkdir -p "$(dirname "$acl")"
sed -e '/^#/d' -e '/^[[:space:]]*$/d' \
    -e "s/@WRITER_SHA256@/$(sha256 "$FTI_REDIS_WRITER_PASSWORD")/" \
    -e "s/@READER_SHA256@/$(sha256 "$FTI_REDIS_READER_PASSWORD")/" \
    -e "s/@OPERATOR_SHA256@/$(sha256 "$FTI_REDIS_OPERATOR_PASSWORD")/" \
    "$here/users.acl.template" > "$acl"
if [ "$(id -u)" = 0 ]; then
    chown redis:redis "$acl"
fi
chmod 0600 "$acl"

# The image's own entrypoint drops root and starts Redis as the `redis` user. memory.conf sets
# maxmemory and noeviction; arguments after it (the compose command) override it.
exec docker-entrypoint.sh redis-server "$here/memory.conf" --aclfile "$acl" "$@"
