#!/usr/bin/env bash
# test_serve_http.sh: `jpki serve` as an HTTP server at scale.
# HTTP caching: a GET OCSP answer carries RFC 5019 section 6.2's headers
# (Cache-Control max-age, public, no-transform, must-revalidate;
# Last-Modified = thisUpdate; Expires = nextUpdate; ETag = the hash of the
# body) and still verifies with openssl, a POST answer carries none; a CRL
# carries ETag and Last-Modified and is 304 Not Modified for a matching
# If-None-Match or an If-Modified-Since not before it, 200 once a new CRL
# is published.  Every core: the server runs a thread per core, and many
# parallel clients (openssl ocsp processes, keep-alive GETs on many
# threads) are all answered correctly, good and revoked.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh)"
. "$(dirname "$0")/serve_lib.sh"
serve_init
SIGN_SERIAL=$(issue "$TARO" sign "$TMP/sign.pem")
issue "$TARO" auth "$TMP/auth.pem" >/dev/null
ok cert revoke "$SIGN_SERIAL" --reason keyCompromise
ok crl generate
start_server --listen "127.0.0.1:$PORT"

# get PATH [CURL ARGS...]: the status code; headers in $TMP/head, body in $TMP/body.
get() {
	local path=$1
	shift
	rm -f "$TMP/body"    # curl makes no file for an empty body
	curl -s -D "$TMP/head" -o "$TMP/body" -w '%{http_code}' --max-time 10 "$@" "$BASE$path"
}
# header NAME: its value in $TMP/head ("" if absent).
header() {
	awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" 'BEGIN { FS = ": " }
	    tolower($1) == n { sub(/\r$/, ""); sub(/^[^:]*: /, ""); print; exit }' "$TMP/head"
}

check "GET OCSP: RFC 5019 6.2 caching headers, each matching the answer; it verifies"
openssl ocsp -issuer "$AUTH_CA" -cert "$TMP/auth.pem" -no_nonce -reqout "$TMP/q.der" >/dev/null 2>&1
b64=$("$PYTHON" -c 'import base64,sys,urllib.parse; print(urllib.parse.quote(base64.b64encode(open(sys.argv[1],"rb").read()).decode(), safe=""))' "$TMP/q.der")
expect_eq "GET /ocsp/auth/<b64>" "$(get "/ocsp/auth/$b64")" 200
openssl ocsp -respin "$TMP/body" -issuer "$AUTH_CA" -cert "$TMP/auth.pem" -CAfile "$AUTH_CA" -no_nonce \
	-resp_text >"$TMP/v" 2>&1 || fail "GET answer: $(cat "$TMP/v")"
grep -q 'auth.pem: good' "$TMP/v" || fail "GET answer: $(cat "$TMP/v")"
"$PYTHON" - "$TMP/v" "$TMP/body" "$(header Cache-Control)" "$(header Last-Modified)" \
	"$(header Expires)" "$(header ETag)" "$(header Date)" <<'PY' || fail "caching headers: $(cat "$TMP/head")"
import hashlib, re, sys
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
text, body, cc, lm, exp, etag, date = sys.argv[1:8]
def ossl(label):
    m = re.search(label + r": (\w+ +\d+ [\d:]+ \d+ GMT)", open(text).read())
    return datetime.strptime(m.group(1), "%b %d %H:%M:%S %Y GMT").replace(tzinfo=timezone.utc)
this_update, next_update = ossl("This Update"), ossl("Next Update")
assert parsedate_to_datetime(lm) == this_update, (lm, this_update)
assert parsedate_to_datetime(exp) == next_update, (exp, next_update)
m = re.fullmatch(r"max-age=(\d+), public, no-transform, must-revalidate", cc)
assert m, cc
age = int(m.group(1))
left = (next_update - parsedate_to_datetime(date)).total_seconds()
assert 0 < age <= left, (age, left)
assert etag == '"' + hashlib.sha256(open(body, "rb").read()).hexdigest()[:32] + '"', etag
PY

check "POST OCSP: no caching headers (RFC 5019 caches GET only)"
expect_eq "POST /ocsp/auth" "$(get /ocsp/auth --data-binary "@$TMP/q.der" -H 'Content-Type: application/ocsp-request')" 200
expect_eq "Cache-Control on POST" "$(header Cache-Control)" ""
expect_eq "ETag on POST" "$(header ETag)" ""

check "CRL: ETag and Last-Modified; 304 for If-None-Match and If-Modified-Since, 200 otherwise"
expect_eq "GET /crl/sign/full.crl" "$(get /crl/sign/full.crl)" 200
ETAG=$(header ETag)
LM=$(header Last-Modified)
[ -n "$ETAG" ] && [ -n "$LM" ] || fail "CRL headers: $(cat "$TMP/head")"
cmp -s "$TMP/body" "$DATA/crl/sign/full.crl" || fail "the CRL served is not the file"
expect_eq "If-None-Match: the tag" "$(get /crl/sign/full.crl -H "If-None-Match: $ETAG")" 304
[ ! -s "$TMP/body" ] || fail "a 304 with a body"
expect_eq "304 ETag" "$(header ETag)" "$ETAG"
expect_eq "If-None-Match: a list holding the weak tag" "$(get /crl/sign/full.crl -H "If-None-Match: \"x\", W/$ETAG")" 304
expect_eq "If-None-Match: *" "$(get /crl/sign/full.crl -H 'If-None-Match: *')" 304
expect_eq "If-None-Match: another tag" "$(get /crl/sign/full.crl -H 'If-None-Match: "other"')" 200
expect_eq "If-Modified-Since: its Last-Modified" "$(get /crl/sign/full.crl -H "If-Modified-Since: $LM")" 304
expect_eq "If-Modified-Since: 1994" "$(get /crl/sign/full.crl -H 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT')" 200
expect_eq "If-Modified-Since: not a date" "$(get /crl/sign/full.crl -H 'If-Modified-Since: yesterday')" 200
expect_eq "If-None-Match decides alone (RFC 9110 13.2.2)" \
	"$(get /crl/sign/full.crl -H 'If-None-Match: "other"' -H "If-Modified-Since: $LM")" 200
sleep 1.1   # a new publication, a second later
ok crl generate --type sign
expect_eq "the old tag after a new CRL" "$(get /crl/sign/full.crl -H "If-None-Match: $ETAG")" 200
[ "$(header ETag)" != "$ETAG" ] || fail "a new CRL kept the old ETag"
cmp -s "$TMP/body" "$DATA/crl/sign/full.crl" || fail "the new CRL is not served"

check "a thread per core"
CORES=$(nproc)
THREADS=$(ls "/proc/$SERVER_PID/task" | wc -l)
[ "$THREADS" -gt "$CORES" ] || fail "$THREADS threads for $CORES cores"

check "64 openssl ocsp processes, 16 at once: every answer verifies and is right"
seq 64 | xargs -P 16 -I{} sh -c '
	if [ $(({} % 2)) -eq 0 ]; then t=sign; else t=auth; fi
	openssl ocsp -issuer "$1/ca/$t-ca.pem" -cert "$1/$t.pem" -url "$2/ocsp/$t" -CAfile "$1/ca/$t-ca.pem" \
		>"$1/par.{}" 2>&1 || { echo "request {}: $(cat "$1/par.{}")"; exit 255; }' _ "$TMP" "$BASE" ||
	fail "a parallel openssl ocsp failed"
expect_eq "revoked answers" "$(cat "$TMP"/par.* | grep -c 'sign.pem: revoked')" 32
expect_eq "good answers" "$(cat "$TMP"/par.* | grep -c 'auth.pem: good')" 32
expect_eq "verified" "$(cat "$TMP"/par.* | grep -c 'Response verify OK')" 64

check "32 keep-alive clients on threads, 25 GETs each (OCSP and CRL): all answered, each body as expected"
"$PYTHON" - "$PORT" "/ocsp/auth/$b64" "$DATA/crl/sign/full.crl" <<'PY' || fail "parallel GETs"
import hashlib, http.client, sys, threading
port, ocsp_path, crl_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
crl = open(crl_file, "rb").read()
errors = []
def client(n):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        for i in range(25):
            path = ocsp_path if (n + i) % 2 else "/crl/sign/full.crl"
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, (path, r.status)
            if path == ocsp_path:
                assert r.getheader("Content-Type") == "application/ocsp-response"
                tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                assert r.getheader("ETag") == tag, "ETag is not the body's hash"
            else:
                assert body == crl, "CRL body differs"
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=client, args=(n,)) for n in range(32)]
for t in ts: t.start()
for t in ts: t.join()
assert not errors, errors[:3]
PY

done_ok
