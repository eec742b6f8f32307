-- Password sign-in, cycling through eight accounts: BENCH_LOGIN followed by BENCH_LOGIN_FIRST (default 0) …
-- BENCH_LOGIN_FIRST + 7 (a login flood is many people; one account's checks run one at a time). A
-- BENCH_LOGIN that names no account measures refusals instead.
local prefix, password = os.getenv("BENCH_LOGIN"), os.getenv("BENCH_PASSWORD")
local first = tonumber(os.getenv("BENCH_LOGIN_FIRST") or "0")
local headers = { ["Content-Type"] = "application/json", ["x-api-key"] = os.getenv("BENCH_API_KEY") }
local n = math.random(0, 7)

request = function()
  n = (n + 1) % 8
  local body = string.format('{"login":"%s%d","password":"%s"}', prefix, first + n, password)
  return wrk.format("POST", "/api/v1/auth/login", headers, body)
end
