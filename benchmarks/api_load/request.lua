-- wrk script for the API load benchmark.  Environment (read once per thread):
--   BENCH_KIND     ceiling | account | eligibility | quote
--   BENCH_TOKEN    the API key (Bearer)
--   BENCH_ACCOUNTS how many demo accounts exist (DEMO-00001 ...)
--   BENCH_DELAY_MS pause per request and connection (pacing for the fixed-rate run; 0 = flat out)
local kind = os.getenv("BENCH_KIND") or "account"
local token = os.getenv("BENCH_TOKEN") or ""
local accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "1000")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

local function ref()
  return string.format("DEMO-%05d", math.random(1, accounts))
end

function init(args)
  -- each wrk thread has its own Lua state: seed it from the address of a fresh table
  local address = tostring({}):match("0x(%x+)") or "1"
  math.randomseed(os.time() + tonumber(address:sub(-7), 16))
end

function request()
  local headers = { ["Authorization"] = "Bearer " .. token, ["Accept-Language"] = "en" }
  if kind == "ceiling" then
    return wrk.format("GET", "/accounts/" .. ref(), headers)
  elseif kind == "account" then
    return wrk.format("GET", "/v1/accounts/" .. ref(), headers)
  elseif kind == "eligibility" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/v1/accounts/" .. ref() .. "/eligibility", headers,
      '{"reason": "illness", "monthly_income": "8000.00"}')
  elseif kind == "quote" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/v1/quotes/installment-plan", headers, '{"account_ref": "' .. ref() .. '"}')
  end
end

function delay()
  return delay_ms
end

local bad = 0
function response(status, headers, body)
  if status >= 400 and status ~= 404 and status ~= 422 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body:sub(1, 200) .. "\n") end
  end
end
