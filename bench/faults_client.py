#!/usr/bin/env python3
"""The part of bench/faults.sh's load that resv bench has no scenario for:
cancellations (a seat held, paid, then cancelled with its refund) and
waiting-room tokens (issued, then their status asked), against both servers
in turn, paced, each answer written to a trace as resv bench writes one:
"DUE_MS SENT_MS LATENCY_MS STATUS CODE METHOD TARGET STEP" after a header
"# faults_client, started at MS ms: ...".

  faults_client.py PORT1,PORT2 SECONDS SCHEDULE FIRST_SEAT SEATS FIRST_USER USERS QUEUE_CONCERT TRACE
The cancellations are made by users FIRST_USER..+3 on the schedule's seats
from FIRST_SEAT (SEATS of them); the tokens are asked for users 1..USERS, each
once, for QUEUE_CONCERT (a concert with a waiting room and no seats).
"""
import http.client
import json
import sys
import threading
import time

ports = [int(p) for p in sys.argv[1].split(",")]
seconds = float(sys.argv[2])
schedule, first_seat, seats = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
first_user, users, queue_concert = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
trace_path = sys.argv[9]

start = time.time()
lines, lock = [], threading.Lock()


def ask(port, method, target, body, step):
    """One request on a new connection (a killed server costs one answer);
    returns (status, parsed body or {})."""
    sent = time.time()
    status, code, parsed = 0, "connection", {}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request(method, target, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read()
        status = r.status
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {}
        code = parsed.get("error", {}).get("code", "-") if isinstance(parsed, dict) else "-"
        c.close()
    except TimeoutError:
        code = "timeout"
    except (ConnectionError, OSError):
        code = "connection"
    done = time.time()
    ms = lambda t: (t - start) * 1000
    with lock:
        lines.append(f"{ms(sent):.3f} {ms(sent):.3f} {ms(done) - ms(sent):.3f} {status} {code} {method} {target} {step}")
    return status, parsed


def canceller(k, n):
    """Seats first_seat + k, + k + n, ...: hold, pay, cancel, again."""
    i, seat = 0, first_seat + k
    user = first_user + k
    while time.time() - start < seconds:
        port = ports[i % 2]
        i += 1
        status, held = ask(port, "POST", "/api/reservations",
                           {"userId": user, "scheduleId": schedule, "seatIds": [seat]}, "hold")
        if status != 201:
            seat = first_seat + (seat - first_seat + n) % seats
            time.sleep(0.05)
            continue
        res = held["reservationId"]
        status, _ = ask(ports[i % 2], "POST", f"/api/reservations/{res}/payment", {"userId": user}, "pay")
        # Cancelled whether the payment went through or not (a hold is then
        # cancelled without a refund); retried until answered.
        for _ in range(50):
            status, _ = ask(ports[i % 2], "DELETE", f"/api/reservations/{res}?userId={user}", None, "cancel")
            if status == 200 or 400 <= status < 500:
                break
            time.sleep(0.2)
        time.sleep(0.05)


def queuer(k, n):
    """Users 1 + k, 1 + k + n, ...: a token for the queue's concert, then
    its status."""
    u = k
    while time.time() - start < seconds and u < users:
        port = ports[u % 2]
        status, t = ask(port, "POST", "/api/queue/tokens", {"userId": 1 + u, "concertId": queue_concert},
                        "token")
        if status in (200, 201) and "token" in t:
            ask(ports[(u + 1) % 2], "GET", "/api/queue/tokens/" + t["token"], None, "token status")
        u += n
        time.sleep(0.05)


threads = [threading.Thread(target=canceller, args=(k, 4)) for k in range(4)]
threads += [threading.Thread(target=queuer, args=(k, 4)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
lines.sort(key=lambda l: float(l.split(" ", 1)[0]))
with open(trace_path, "w") as f:
    f.write(f"# faults_client, started at {start * 1000:.0f} ms: due_ms sent_ms latency_ms status code method target step\n")
    for l in lines:
        f.write(l + "\n")
