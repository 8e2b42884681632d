"""Driver of bench/soak.sh. Usage: soak.py PORT PASSWORD SERVER_PID SECONDS RATE

A fixed-rate schedule of operations, spread over 16 client threads with
keep-alive connections: of every 20 operations, 14 reads (Table API lists
with an encoded query, a record, v3 release lists with a search, the
metrics), 5 writes (a calendar created, renamed and deleted through the Table
API; a v3 release edited) and, every 5 seconds, a job (a CDM component
upload of 200 values into one of three components of an open changeset,
followed to its end). Calendars are deleted as they are made and uploads
replace values, so the data stays about the same size; v3 edits add history."""
import base64, http.client, json, queue, sys, threading, time, urllib.parse

port, password, pid, seconds, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
local = threading.local()
lock = threading.Lock()
minutes = {}  # minute -> {"n", "lat", "errors"}
failures = []


def conn():
    if not hasattr(local, "c"):
        local.c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
    return local.c


def call(method, path, body=None, raw=None, record=True):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Authorization": auth, "Accept": "application/json",
               "Content-Type": "text/plain" if raw is not None else "application/json"}
    start = time.perf_counter()
    try:
        c = conn()
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read()
        status = r.status
    except (OSError, http.client.HTTPException) as e:
        local.__dict__.pop("c", None)
        status, text = 0, str(e).encode()
    elapsed = (time.perf_counter() - start) * 1000
    if record:
        minute = int((time.time() - begin) // 60)
        with lock:
            m = minutes.setdefault(minute, {"n": 0, "lat": [], "errors": 0})
            m["n"] += 1
            m["lat"].append(elapsed)
            if status == 0 or status >= 500:
                m["errors"] += 1
                failures.append(f"{method} {path}: {status} {text[:200]!r}")
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, None


def database_files():
    """Open descriptors on the SQLite database file: one per pooled connection."""
    import os
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").endswith(".db"):
                    n += 1
            except OSError:
                pass
    except OSError:
        return 0
    return n


def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


q = urllib.parse.quote
counter = [0]


def next_id():
    with lock:
        counter[0] += 1
        return counter[0]


def read_table():
    call("GET", "/api/now/table/sys_user?sysparm_query=" + q("active=true^ORDERBYuser_name") + "&sysparm_limit=20")


def read_record():
    call("GET", "/api/now/table/sn_dpr_model_release_calendar?sysparm_limit=5")


def read_v3():
    doc = json.dumps({"list_info": {"row_count": 10, "search_fields": {"title": f"upgrade {next_id() % 50}"}}})
    call("GET", "/api/v3/releases?input_data=" + q(doc))


def read_metrics():
    call("GET", "/metrics")


def write_calendar():
    n = next_id()
    status, body = call("POST", "/api/now/table/sn_dpr_model_release_calendar", {"name": f"soak calendar {n}"})
    if status == 201 and body:
        sys_id = body["result"]["sys_id"]
        call("PATCH", f"/api/now/table/sn_dpr_model_release_calendar/{sys_id}", {"name": f"soak calendar {n} renamed"})
        call("DELETE", f"/api/now/table/sn_dpr_model_release_calendar/{sys_id}")


def write_v3():
    call("PUT", "/api/v3/releases/3", {"release": {"description": f"soak edit {next_id()}"}})


def upload_job(app, changeset):
    # The same three components again and again, their values changed: the
    # data stays the same size, so memory should too.
    n = next_id()
    groups = {f"g{g}": {f"k{k}": f"v {n}" for k in range(20)} for g in range(10)}
    status, body = call("POST", f"/api/sn_cdm/applications/uploads/components?appName={app}&namePath=soak{n % 3}"
                        f"&dataFormat=json&changesetNumber={changeset}", raw=json.dumps(groups).encode())
    if status != 200 or not body:
        return
    upload = body["result"]["upload_id"]
    for _ in range(600):
        status, body = call("GET", f"/api/sn_cdm/applications/upload-status/{upload}", record=False)
        if status != 200 or body["result"]["state"] in ("completed", "error"):
            break
        time.sleep(0.1)


# One of these per slot of the schedule, in this order (20 slots).
MIX = [read_table, read_v3, read_record, write_calendar, read_table, read_v3, read_record, write_v3,
       read_table, read_v3, read_metrics, write_calendar, read_table, read_v3, read_record, write_v3,
       read_table, read_v3, read_record, read_metrics]

status, _ = call("POST", "/api/now/table/sn_cdm_application", {"name": "soak"}, record=False)
_, apps = call("GET", "/api/now/table/sn_cdm_application?sysparm_query=name=soak", record=False)
app_id = apps["result"][0]["sys_id"]
call("POST", f"/api/sn_cdm/applications/deployables/create?appSysId={app_id}&envType=Development&quantity=1", record=False)
_, cs = call("POST", "/api/sn_cdm/changesets/create?appName=soak", record=False)
changeset = cs["result"]["number"]

work = queue.Queue(maxsize=1000)
begin = time.time()
slot = 0


def client():
    while True:
        op = work.get()
        if op is None:
            return
        op()


threads = [threading.Thread(target=client, daemon=True) for _ in range(16)]
for t in threads:
    t.start()
# Warm-up burst: every client at once, unpaced, for ten seconds, as traffic
# peaks do. The server's pools and caches grow to what such a peak needs
# (on SQLite a pooled connection each, with its page cache), so that growth
# shows in the warm-up and not as a leak later.
burst_end = time.time() + 10
while time.time() < burst_end:
    work.put(MIX[slot % len(MIX)])
    slot += 1
while not work.empty():
    time.sleep(0.01)
rss = {}
files = {}
interval, next_at, next_job = 1.0 / rate, time.time(), time.time() + 5
while time.time() - begin < seconds:
    now = time.time()
    minute = int((now - begin) // 60)
    if minute not in rss:
        rss[minute] = rss_mb()
        files[minute] = database_files()
    if now >= next_job:
        threading.Thread(target=upload_job, args=("soak", changeset), daemon=True).start()
        next_job += 5
    if now < next_at:
        time.sleep(min(next_at - now, 0.01))
        continue
    try:
        work.put_nowait(MIX[slot % len(MIX)])
    except queue.Full:
        failures.append("the server fell behind: 1,000 operations waiting")
        break
    slot += 1
    next_at += interval
for _ in threads:
    work.put(None)
for t in threads:
    t.join(timeout=60)
rss[int((time.time() - begin) // 60) + 1] = rss_mb()

print(f"{'minute':>6} {'requests':>9} {'req/s':>7} {'p99 ms':>8} {'errors':>7} {'RSS MB at start':>16} {'db files':>9}")
for minute in sorted(minutes):
    m = minutes[minute]
    lat = sorted(m["lat"])
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(f"{minute + 1:>6} {m['n']:>9} {m['n'] / 60:>7.1f} {p99:>8.1f} {m['errors']:>7} "
          f"{rss.get(minute, float('nan')):>16.1f} {files.get(minute, 0):>9}")
final = rss[max(rss)]
print(f"resident memory at the end: {final:.1f} MB")
ok = True
if failures:
    ok = False
    print(f"FAIL: {len(failures)} failed answers, first: {failures[:5]}")
if seconds >= 180 and 2 in rss:
    base = rss[2]
    growth = (final - base) / base * 100
    print(f"memory growth after the first two minutes: {growth:+.1f} % (limit +10 %)")
    if growth > 10:
        ok = False
        print("FAIL: memory grew by more than 10 % after the warm-up")
sys.exit(0 if ok else 1)
