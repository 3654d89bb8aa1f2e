#!/usr/bin/env bash
# test_serve_ocsp_cache.sh: `jpki serve` keeps the pre-signed OCSP
# responses in memory (docs/ocsp.md, "The response cache"):
#   - preloaded at start: the first answers come from memory, byte for
#     byte the stored responses, and /metrics counts them (and promtool
#     accepts the exposition);
#   - a revocation by another `jpki` process of a certificate whose answer
#     is cached shows as revoked within 1 s through openssl ocsp;
#   - in a test build, with the change queue's follower stopped
#     (JPKI_SERVE_FEED_PAUSE), the cache is left alone after
#     CA_OCSP_FEED_STALE_MS, so a revocation still shows within 1 s, and
#     it is used again once the follower runs;
#   - ocsp_cache_mb = 0: no cache, the same answers.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh)"

serve_init
JIRO=$(add_resident "$(individual_number 22345678901)" "山田 次郎" \
	"東京都千代田区千代田1-2" 1982-05-15 male)
HANAKO=$(add_resident "$(individual_number 32345678901)" "山田 花子" \
	"東京都千代田区千代田1-3" 1984-05-15 female)
S1=$(issue "$TARO" sign "$TMP/1.pem")
S2=$(issue "$JIRO" sign "$TMP/2.pem")
S3=$(issue "$HANAKO" sign "$TMP/3.pem")
A1=$(issue "$TARO" auth "$TMP/a1.pem")
ok ocsp presign

metric() {
	curl -s --max-time 10 "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
# post NAME CERT: openssl ocsp's POST (RFC 5019 form), the answer in
# $TMP/NAME.der, what openssl says in $TMP/NAME.txt.
post() {
	openssl ocsp -issuer "$SIGN_CA" -cert "$2" -url "$BASE/ocsp" -CAfile "$SIGN_CA" \
		-no_nonce -respout "$TMP/$1.der" >"$TMP/$1.txt" 2>&1 ||
		fail "openssl ocsp: $(cat "$TMP/$1.txt")"
	grep -q 'Response verify OK' "$TMP/$1.txt" || fail "$(cat "$TMP/$1.txt")"
}
# revoked_within_1s CERT: revoke it by another process, then ask until
# openssl reads revoked; fail if it still reads good after 1 s.
revoked_within_1s() {
	local serial=$1 pem=$2 t0 ms
	ok cert revoke "$serial" --reason affiliationChanged
	t0=$(date +%s%N)
	while :; do
		post r "$pem"
		grep -q ': revoked' "$TMP/r.txt" && break
		grep -q ': good' "$TMP/r.txt" || fail "$(cat "$TMP/r.txt")"
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ "$ms" -lt 1000 ] || fail "still good $ms ms after the revocation"
		sleep 0.05
	done
	echo "    revoked in the answers $(( ($(date +%s%N) - t0) / 1000000 )) ms after jpki cert revoke returned"
}

start_server --listen "127.0.0.1:$PORT"

check "preloaded: the stored responses answered from memory, byte for byte"
for _ in $(seq 50); do
	[ "$(metric jpki_ocsp_cache_entries)" = 4 ] && break
	sleep 0.1
done
expect_eq "entries after the preload" "$(metric jpki_ocsp_cache_entries)" 4
hits0=$(metric jpki_ocsp_cache_hits_total)
post g1 "$TMP/1.pem"
post g2 "$TMP/1.pem"
grep -q '1.pem: good' "$TMP/g1.txt" || fail "$(cat "$TMP/g1.txt")"
cmp -s "$TMP/g1.der" "$TMP/g2.der" || fail "two answers differ"
db_sql "SELECT $(db_hex der) FROM ocsp_responses WHERE serial = '$S1'" >"$TMP/stored.hex"
[ "$(od -An -v -tx1 "$TMP/g1.der" | tr -d ' \n')" = "$(tr -d '\n' <"$TMP/stored.hex")" ] ||
	fail "the answer is not the stored response"
expect_eq "hits" "$(metric jpki_ocsp_cache_hits_total)" $((hits0 + 2))
expect_eq "fills beyond the preload" "$(metric jpki_ocsp_cache_fills_total)" 4
silent=$(metric jpki_ocsp_cache_feed_silent_seconds)
awk -v s="$silent" 'BEGIN { exit !(s >= 0 && s < 0.5) }' || fail "follower silent for $silent s"
if command -v promtool >/dev/null; then
	curl -s --max-time 10 "$BASE/metrics" >"$TMP/metrics.txt"
	promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.txt" 2>&1 ||
		fail "promtool: $(cat "$TMP/promtool.txt")"
fi

check "a revocation by another process of a cached answer shows within 1 s"
revoked_within_1s "$S2" "$TMP/2.pem"
[ "$(metric jpki_ocsp_cache_dropped_total)" -ge 1 ] || fail "nothing dropped"
post r2 "$TMP/2.pem"
cmp -s "$TMP/r.der" "$TMP/r2.der" || fail "the revoked answer changes between requests"

if [ "${JPKI_TEST_HOOKS:-}" = 1 ]; then
	check "the follower stopped: the cache is left alone, a revocation still shows within 1 s"
	touch "$TMP/pause"
	stop_server
	JPKI_SERVE_FEED_PAUSE=$TMP/pause start_server --listen "127.0.0.1:$PORT"
	# Paused from the start: never caught up, never used.
	post p1 "$TMP/3.pem"
	expect_eq "hits while paused" "$(metric jpki_ocsp_cache_hits_total)" 0
	rm -f "$TMP/pause"
	for _ in $(seq 50); do
		[ "$(metric jpki_ocsp_cache_entries)" = 4 ] && break
		sleep 0.1
	done
	post p2 "$TMP/3.pem"
	[ "$(metric jpki_ocsp_cache_hits_total)" -ge 1 ] || fail "not used once the follower ran"
	touch "$TMP/pause"
	sleep 0.7
	hits=$(metric jpki_ocsp_cache_hits_total)
	revoked_within_1s "$S3" "$TMP/3.pem"
	expect_eq "hits with the follower stopped" "$(metric jpki_ocsp_cache_hits_total)" "$hits"
	rm -f "$TMP/pause"
fi

check "ocsp_cache_mb = 0: no cache, the same answers"
stop_server
if grep -q '^ocsp_cache_mb' "$DATA/config"; then
	sed -i 's/^ocsp_cache_mb.*/ocsp_cache_mb = 0/' "$DATA/config"
else
	sed -i 's/^\[fees\]/ocsp_cache_mb = 0\n\n[fees]/' "$DATA/config"
fi
start_server --listen "127.0.0.1:$PORT"
post n1 "$TMP/1.pem"
cmp -s "$TMP/g1.der" "$TMP/n1.der" || fail "the answer without a cache differs"
curl -s --max-time 10 "$BASE/metrics" | grep -q '^jpki_ocsp_cache' && fail "cache metrics without a cache"
done_ok
