#!/usr/bin/env bash
# Installs the Debian packages the connector and its tests use, when they are missing and we are root.
# Not root: print what is missing and go on (the tests that need a missing part say so).
set -u
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for pkg in unixodbc odbc-postgresql odbc-mariadb libsqliteodbc postgresql mariadb-server-core; do
  have_pkg "$pkg" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "sysdeps: missing Debian packages: ${need[*]} (run as root to install them)" >&2
  exit 0
fi
echo "sysdeps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
