#!/usr/bin/env bash
# CI: install Debian's dovecot-core for the Dovecot authentication tests (test/helpers/dovecot.ts
# starts its own dovecot with a temp config, base_dir and passwd-file, the auth service only,
# on a temp unix socket and a loopback port; it never uses the system service). Run from
# .ci/run: `bash contrib/ci-dovecot.sh`. Installs nothing when dovecot and doveadm are there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v dovecot >/dev/null || ! command -v doveadm >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends dovecot-core >/dev/null
fi

# The package starts the system service where it can; the tests do not want it (and it would
# hold the default ports): disable and stop it.
if command -v systemctl >/dev/null; then
  systemctl disable dovecot.service dovecot.socket >/dev/null 2>&1 || true
  if [ -d /run/systemd/system ]; then
    systemctl stop dovecot.service dovecot.socket >/dev/null 2>&1 || true
  fi
fi
dovecot --version
