-- wrk: a different search on every request, drawn from the seeded vocabulary.
-- SEARCH=v3    GET /api/v3/releases, title contains TERM, with the total count
-- SEARCH=table GET /api/now/table/sys_user?sysparm_query=nameLIKETERM
-- WORDS names the vocabulary file (bench/seed_search.py writes it).
local words = {}
for line in io.lines(os.getenv("WORDS")) do
    words[#words + 1] = line:lower()
end
local kind = os.getenv("SEARCH") or "v3"
math.randomseed(os.time())

local function term()
    local w = words[math.random(#words)]
    local len = math.random(4, 6)
    local i = math.random(1, math.max(1, #w - len + 1))
    return w:sub(i, i + len - 1)
end

local function encode(s)
    return (s:gsub("[^%w%-_%.~]", function(c)
        return string.format("%%%02X", string.byte(c))
    end))
end

request = function()
    local t = term()
    local path
    if kind == "v3" then
        path = "/api/v3/releases?input_data=" .. encode(
            '{"list_info":{"row_count":10,"get_total_count":true,"search_criteria":'
            .. '{"field":"title","condition":"contains","value":"' .. t .. '"}}}')
    else
        path = "/api/now/table/sys_user?sysparm_limit=10&sysparm_fields=sys_id,user_name,name,email"
            .. "&sysparm_query=" .. encode("nameLIKE" .. t)
    end
    return wrk.format("GET", path)
end
