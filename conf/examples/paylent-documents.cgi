#!/bin/sh
# The Paylent client's page: calls the resource API with the signed-in user's access token
# (COINPAY_ACCESS_TOKEN, kept fresh by mod_coinpay_auth) and shows what the API answered.
# PAYLENT_API is the API's base URL (SetEnv PAYLENT_API http://127.0.0.1:4100).
api=${PAYLENT_API:-http://127.0.0.1:4100}
printf 'Content-Type: text/plain\r\n\r\n'
echo "Signed in as: $REMOTE_USER"
for route in profile documents; do
  printf '%s: ' "$route"
  curl -s -o - -w ' (HTTP %{http_code})\n' -H "Authorization: Bearer $COINPAY_ACCESS_TOKEN" \
    "$api/api/$route/"
done
