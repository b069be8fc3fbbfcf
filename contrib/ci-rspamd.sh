#!/usr/bin/env bash
# CI: install Debian's rspamd and clamd for the content-scanning integration tests (test/helpers/rspamd.ts
# starts its own instances on free loopback ports with a temp config; it never uses the system
# service). Run from .ci/run: `bash contrib/ci-rspamd.sh`.
#
# Measured on the dev machine (Debian 12, 2 cores): rspamd 3.4-1 plus 9 dependencies
# (libhyperscan5, libluajit-5.1-2, JS/fonts for the web UI) took about 5 s to install, 1 s for
# `apt-get update`. The first startRspamd() on a machine then needs ~10 s to compile its
# hyperscan cache ($TMPDIR/postern-rspamd-hs-cache); later ones ~0.3-0.6 s.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
[ -x /usr/bin/rspamd ] || need+=(rspamd)
# clamd for the antivirus path; the tests run it with a signature database of their own (EICAR),
# since freshclam cannot download the real one here (about 6 s to install).
[ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  # Recommends would add redis-server (and clamav-freshclam's friends): the tests use neither.
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The package enables the system service and starts it where it can (not in containers whose
# policy-rc.d says no, nor without systemd). It would not get in the way of the tests (other
# ports and dirs) but is not wanted on a CI machine: disable and stop it.
if command -v systemctl >/dev/null; then
  systemctl disable rspamd.service clamav-daemon.service clamav-freshclam.service >/dev/null 2>&1 || true
  if [ -d /run/systemd/system ]; then
    systemctl stop rspamd.service clamav-daemon.service clamav-freshclam.service >/dev/null 2>&1 || true
  fi
fi
if [ -x /etc/init.d/rspamd ] && [ ! -d /run/systemd/system ]; then
  /etc/init.d/rspamd stop >/dev/null 2>&1 || true
fi

# Whatever still runs from the system configuration: a main rspamd process (its parent is not
# rspamd) writing /var/log/rspamd/. The test helper's instances log into their own temp dirs,
# so they never match. Workers exit with their main process.
for pid in $(pgrep -x rspamd || true); do
  ppid=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ') || continue
  [ -n "$ppid" ] && [ "$(ps -o comm= -p "$ppid" 2>/dev/null)" = rspamd ] && continue
  if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q ' /var/log/rspamd/'; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
done
