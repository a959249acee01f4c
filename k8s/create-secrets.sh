#!/usr/bin/env bash
# Creates the Secrets the manifests reference, with fresh random values, in namespace imagehub.
# Run once per cluster, before the first `kubectl apply -k`. Existing Secrets are left alone, so a
# re-run never rotates a password behind Postgres' back (see k8s/README.md for rotation).
#   k8s/create-secrets.sh            # uses the current kubectl context
# Needs kubectl and openssl. Nothing is written to disk.
set -euo pipefail
ns=imagehub

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"

exists() { kubectl -n "$ns" get secret "$1" >/dev/null 2>&1; }
# Hex keeps passwords safe inside a postgres:// URL without escaping.
random_hex() { openssl rand -hex 24; }

if exists imagehub-db; then
  echo "secret imagehub-db exists, left as is"
else
  kubectl -n "$ns" create secret generic imagehub-db \
    --from-literal=postgres-password="$(random_hex)" \
    --from-literal=migrator-password="$(random_hex)" \
    --from-literal=auth-password="$(random_hex)" \
    --from-literal=image-password="$(random_hex)"
fi

if exists imagehub-jwt; then
  echo "secret imagehub-jwt exists, left as is"
else
  # ES256 needs an EC P-256 key, in PKCS#8 PEM. Piped straight into the Secret.
  kubectl -n "$ns" create secret generic imagehub-jwt \
    --from-file=private-key.pem=<(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)
fi

if exists imagehub-url-signing; then
  echo "secret imagehub-url-signing exists, left as is"
else
  kubectl -n "$ns" create secret generic imagehub-url-signing \
    --from-literal=url-signing-key="$(openssl rand -base64 48)"
fi

if exists imagehub-rabbitmq; then
  echo "secret imagehub-rabbitmq exists, left as is"
else
  # The broker's one user (`imagehub`), set when RabbitMQ first starts on an empty volume; the
  # services put it in their AMQP_URL. Hex, so it needs no escaping in a URL either.
  kubectl -n "$ns" create secret generic imagehub-rabbitmq \
    --from-literal=rabbitmq-password="$(random_hex)"
fi
