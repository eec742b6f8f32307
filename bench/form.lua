-- POST a fixed application/x-www-form-urlencoded body (BENCH_FORM) to the URL's path, authenticating the
-- client with HTTP Basic (BENCH_BASIC: base64 of client_id:client_secret) — the token and introspection
-- endpoints. Every request is the same, so Tessera and the peer can be given byte-identical load.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_FORM")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
