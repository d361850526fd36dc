#!/usr/bin/env bash
# Install the system packages the tests and `make run` need, on Debian: redis-server, redis-tools and
# postgresql (servers), chromium, nodejs and npm (the browser tests drive Debian's chromium with the
# npm package playwright-core, which downloads no browser of its own), and fonts-liberation (so that
# screenshots show text: chromium only recommends a font), and wrk (the HTTP load generator of
# `fti bench http`).
#
# Idempotent: installs only what is missing and runs `apt-get update` only then.
# Starts no service. Debian's packages start redis-server (port 6379) and a PostgreSQL cluster
# (port 5432) on install, but the tests start throwaway servers of their own and `make run` starts
# scripts/redis-local.sh, so a system server would only take the port. During the install a
# /usr/sbin/policy-rc.d answering 101 ("action forbidden") stops invoke-rc.d and deb-systemd-invoke
# from starting anything; it is removed afterwards, and one already there that forbids starts
# (Docker images ship one) is left alone. Under systemd the new units are also disabled, so that
# they do not start at the next boot either.
set -euo pipefail
shopt -s nullglob

policy=/usr/sbin/policy-rc.d
policy_backup="${policy}.fti-backup"

say() {
    echo "install-system-deps: $*"
}

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || {
        say "not root and no sudo: run this script as root" >&2
        exit 1
    }
    as_root=(sudo)
fi

postgres_bindir() {
    local initdbs=(/usr/lib/postgresql/*/bin/initdb)
    ((${#initdbs[@]})) && dirname "${initdbs[-1]}"
}

has_fonts() {
    [[ -n "$(find /usr/share/fonts -name '*.ttf' -print -quit 2>/dev/null)" ]]
}

missing_packages() {
    command -v redis-server >/dev/null || echo redis-server
    command -v redis-cli >/dev/null || echo redis-tools
    postgres_bindir >/dev/null || echo postgresql
    command -v chromium >/dev/null || echo chromium
    has_fonts || echo fonts-liberation
    command -v node >/dev/null || echo nodejs
    command -v npm >/dev/null || echo npm
    command -v wrk >/dev/null || echo wrk
}

report_present() {
    local redis_server redis_cli
    redis_server="$(command -v redis-server || echo missing)"
    redis_cli="$(command -v redis-cli || echo missing)"
    say "redis-server: $redis_server; redis-cli: $redis_cli; PostgreSQL: $(postgres_bindir || echo missing)"
    say "chromium: $(command -v chromium || echo missing); node: $(command -v node || echo missing);" \
        "npm: $(command -v npm || echo missing); wrk: $(command -v wrk || echo missing)"
}

forbid_service_starts() {
    if [[ -e "$policy" ]]; then
        local verdict=0
        "$policy" redis-server start >/dev/null 2>&1 || verdict=$?
        if ((verdict == 101)); then
            say "$policy already forbids service starts; leaving it as it is"
            return
        fi
        "${as_root[@]}" mv "$policy" "$policy_backup"
    fi
    printf '#!/bin/sh\n# Written by fti scripts/install-system-deps.sh for the duration of an install.\nexit 101\n' |
        "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 0755 "$policy"
    trap allow_service_starts EXIT
    say "service starts forbidden during the install ($policy, temporary)"
}

allow_service_starts() {
    "${as_root[@]}" rm -f "$policy"
    if [[ -e "$policy_backup" ]]; then
        "${as_root[@]}" mv "$policy_backup" "$policy"
        say "put the previous $policy back"
    else
        say "removed the temporary $policy"
    fi
}

disable_boot_start() {
    [[ -d /run/systemd/system ]] || return 0
    local units=()
    [[ " $* " == *" redis-server "* ]] && units+=(redis-server.service)
    [[ " $* " == *" postgresql "* ]] && units+=(postgresql.service)
    if ((${#units[@]})); then
        "${as_root[@]}" systemctl disable --quiet "${units[@]}"
        say "disabled at boot: ${units[*]}"
    fi
}

mapfile -t packages < <(missing_packages)
if ((${#packages[@]} == 0)); then
    report_present
    say "nothing to install"
    exit 0
fi

say "installing: ${packages[*]}"
forbid_service_starts
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
disable_boot_start "${packages[@]}"
report_present
still_missing="$(missing_packages | tr '\n' ' ')"
if [[ -n "$still_missing" ]]; then
    say "still missing after the install: $still_missing" >&2
    exit 1
fi
say "done; no service was started"
