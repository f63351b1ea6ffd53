#!/bin/sh
# Chorus from the shell: is it ready, an account, and a chat reply over SSE.
BASE=${1:-http://localhost:3000}
curl -s "$BASE/api/ready"; echo
TOKEN=$(curl -s -X POST "$BASE/api/auth/register" -H 'Content-Type: application/json' \
  -d '{"username":"curl_user","password":"correct horse"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
curl -s "$BASE/api/auth/me" -H "Authorization: Bearer $TOKEN"; echo
curl -sN -X POST "$BASE/api/v1/messages/send" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"model":"gpt-4o-mini","content":"Hello","temperature":0.7}'
