-- Each wrk thread spends its own refresh-token chain, each token exactly once. The chains' first tokens
-- come from BENCH_REFRESH_TOKENS (comma-separated, one per thread); run with -t N -c N so every chain is
-- sequential.
local headers = { ["Content-Type"] = "application/json", ["x-api-key"] = os.getenv("BENCH_API_KEY") }
local next_thread = 0

setup = function(thread)
  local index = 0
  for token in string.gmatch(os.getenv("BENCH_REFRESH_TOKENS"), "[^,]+") do
    if index == next_thread then
      thread:set("token", token)
    end
    index = index + 1
  end
  next_thread = next_thread + 1
end

request = function()
  return wrk.format("POST", "/api/v1/auth/refresh", headers, '{"refresh_token":"' .. token .. '"}')
end

response = function(status, _, body)
  token = body:match('"refresh_token":"([^"]+)"') or token
end
