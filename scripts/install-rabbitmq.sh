#!/usr/bin/env bash
# Makes sure a RabbitMQ answers at AMQP_TEST_URL's host and port (default 127.0.0.1:5672) for the
# broker tests: uses the one that is there, else installs Debian's rabbitmq-server and starts it.
set -euo pipefail
url=${AMQP_TEST_URL:-amqp://guest:guest@127.0.0.1:5672}
hostport=${url#*@}; hostport=${hostport%%/*}
host=${hostport%%:*}; port=${hostport##*:}; [ "$port" = "$hostport" ] && port=5672
answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
if answers; then echo "RabbitMQ answers at $host:$port"; exit 0; fi
case "$host" in
  127.0.0.1|localhost) ;;
  *) echo "no RabbitMQ at $host:$port, and it is not this machine's to install" >&2; exit 1 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "install-rabbitmq: nothing answers at $host:$port; run this as root (or: sudo apt-get install rabbitmq-server)" >&2
  exit 1
fi
echo "installing rabbitmq-server (Debian)"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt run (the chromium install, unattended upgrades) instead of failing on its lock.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_get update -qq
apt_get install -y -qq rabbitmq-server >/dev/null
# No systemd in containers: start the node in the background the way its own script does.
service rabbitmq-server start 2>/dev/null || rabbitmq-server -detached
for _ in $(seq 1 60); do
  if answers; then echo "RabbitMQ started at $host:$port"; exit 0; fi
  sleep 1
done
echo "RabbitMQ did not start within 60 s" >&2
exit 1
