-- wrk script: POST the same JSON echo request (a 100-character text) on every request.
-- The text must match TEXT in lib/common.ts.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text":"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"}'
