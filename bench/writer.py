#!/usr/bin/env python3
"""Writes at a fixed rate through the API while a benchmark reads, over one
keep-alive connection, and reports how many writes were made and how many
failed. Kinds:
  user  creates a user (a Table API insert into a text-indexed table)
  task  flips the approval of one of the first 200 change requests (each
        related to a bundle's release, so the bundle's counts change)
Usage: writer.py PORT RATE SECONDS KIND USER:PASSWORD"""
import base64
import http.client
import json
import random
import sys
import time


def main(port, rate, seconds, kind, credentials):
    if rate <= 0:
        time.sleep(seconds)
        print("writes: 0 made, 0 failed")
        return
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
               "Content-Type": "application/json", "Accept": "application/json"}

    def call(method, path, body=None):
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        res = conn.getresponse()
        data = res.read()
        return res.status, data

    tasks = []
    if kind == "task":
        status, data = call("GET", "/api/now/table/change_request?sysparm_limit=200&sysparm_fields=sys_id")
        tasks = [r["sys_id"] for r in json.loads(data)["result"]]
        assert tasks, "no change requests to update"
    made = failed = 0
    start = time.monotonic()
    end = start + seconds
    rng = random.Random()
    while True:
        due = start + made / rate
        now = time.monotonic()
        if due >= end:
            break
        if due > now:
            time.sleep(due - now)
        if kind == "user":
            name = f"Writer {rng.randrange(10**9)}"
            status, _ = call("POST", "/api/now/table/sys_user",
                             {"user_name": name.replace(" ", ".").lower(), "name": name})
        else:
            task = tasks[made % len(tasks)]
            approval = "approved" if (made // len(tasks)) % 2 == 0 else "requested"
            status, _ = call("PATCH", f"/api/now/table/change_request/{task}", {"approval": approval})
        made += 1
        if status >= 300:
            failed += 1
    elapsed = time.monotonic() - start
    print(f"writes: {made} made ({made / elapsed:.1f}/s), {failed} failed")


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5])
