"""Driver of bench/long_jobs.sh: runs one long job on server B and reports
its time, B's peak memory and /healthz latency while it ran.
Usage: long_jobs.py update_set|upload PORT_A PORT_B PASSWORD B_PID N SET_ID"""
import base64, http.client, json, sys, threading, time, urllib.error, urllib.request

kind, port_a, port_b, password, b_pid, n, set_id = sys.argv[1:8]
n = int(n)
auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
base = f"http://127.0.0.1:{port_b}"


def call(method, path, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, method=method, data=data, headers={
        "Authorization": auth, "Accept": "application/json",
        "Content-Type": "text/plain" if raw is not None else "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            text = r.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path[:120]}: {e.code} {e.read()[:500]!r}")


def peak_memory_mb():
    with open(f"/proc/{b_pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class HealthProbe(threading.Thread):
    """Asks /healthz back to back, a new connection each time."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self.failures, self.stop = [], 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                c = http.client.HTTPConnection("127.0.0.1", int(port_b), timeout=30)
                c.request("GET", "/healthz")
                ok = c.getresponse().status == 200
                c.close()
            except OSError:
                ok = False
            elapsed = (time.perf_counter() - start) * 1000
            if ok:
                self.samples.append(elapsed)
            else:
                self.failures += 1
            time.sleep(0.01)

    def report(self):
        s = sorted(self.samples)
        if not s:
            return "no samples"
        pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]
        return (f"/healthz p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {s[-1]:.1f} ms "
                f"({len(s)} probes, {self.failures} failed)")


def timed(label, start_request, poll, done, ok):
    """Starts a job (start_request returns what poll needs), polls it until
    done, and reports; exits when ok says it failed."""
    probe = HealthProbe()
    probe.start()
    start = time.perf_counter()
    progress_id = start_request()
    while True:
        r = poll(progress_id)
        if done(r):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    probe.stop.set()
    probe.join()
    if not ok(r):
        sys.exit(f"{label} failed: {json.dumps(r)[:500]}")
    print(f"  {label:<28} {elapsed:8.1f} s   peak memory {peak_memory_mb():7.0f} MB   {probe.report()}")
    return r


def progress(i):
    return call("GET", f"/api/sn_cicd/progress/{i}")["result"]


def finished(r):
    return r["status"] in ("2", "3", "4")


def succeeded(r):
    return r["status"] == "2"


if kind == "update_set":
    print(f"== update set of {n:,} updates")
    source = call("POST", "/api/now/table/sys_update_set_source", {
        "name": "bench source", "url": f"http://127.0.0.1:{port_a}", "username": "admin",
        "password": password})["result"]["sys_id"]
    r = timed("retrieve", lambda: call("POST", f"/api/sn_cicd/update_set/retrieve?update_set_id={set_id}&update_source_id={source}")["result"]["links"]["progress"]["id"],
              progress, finished, succeeded)
    remote = r["links"]["results"]["id"]
    timed("preview", lambda: call("POST", f"/api/sn_cicd/update_set/preview/{remote}")["result"]["links"]["progress"]["id"],
          progress, finished, succeeded)
    r = timed("commit", lambda: call("POST", f"/api/sn_cicd/update_set/commit/{remote}")["result"]["links"]["progress"]["id"],
              progress, finished, succeeded)
    jobs = call("GET", "/api/now/table/sys_progress_worker?sysparm_fields=name,sys_mod_count,state&sysparm_limit=100")["result"]
    attempts = {j["name"]: j["sys_mod_count"] for j in jobs if j["name"].startswith("cicd.")}
    print(f"  attempts per job kind (1 = never taken over): {attempts}")
else:
    # One upload may make at most 10,000 nodes (values and containers: the
    # vendor's limit per component, `cdm::MAX_CDIS`), so N values go in
    # uploads of at most 9,000 values, one component each, queued together.
    chunks = [min(9000, n - i) for i in range(0, n, 9000)]
    print(f"== CDM component uploads of {n:,} values ({len(chunks)} upload(s) queued together)")
    app = f"bench{n}"
    call("POST", "/api/now/table/sn_cdm_application", {"name": app})
    app_id = call("GET", f"/api/now/table/sn_cdm_application?sysparm_query=name={app}")["result"][0]["sys_id"]
    call("POST", f"/api/sn_cdm/applications/deployables/create?appSysId={app_id}&envType=Development&quantity=1")
    number = call("POST", f"/api/sn_cdm/changesets/create?appName={app}")["result"]["number"]
    bodies = [json.dumps({f"group{g:03d}": {f"key{k:03d}": f"value {c}-{g}-{k}" for k in range(200) if g * 200 + k < size}
                          for g in range((size + 199) // 200)}).encode() for c, size in enumerate(chunks)]

    def start_uploads():
        return [call("POST", f"/api/sn_cdm/applications/uploads/components?appName={app}&namePath=service{c}&dataFormat=json&changesetNumber={number}",
                     raw=body)["result"]["upload_id"] for c, body in enumerate(bodies)]

    def states(ids):
        return {"states": [call("GET", f"/api/sn_cdm/applications/upload-status/{i}")["result"]["state"] for i in ids]}

    probe_total = sum(len(b) for b in bodies) / 1e6
    timed(f"uploads ({probe_total:.1f} MB)", start_uploads, states,
          lambda r: all(s in ("completed", "error") for s in r["states"]),
          lambda r: all(s == "completed" for s in r["states"]))
