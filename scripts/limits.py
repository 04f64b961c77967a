#!/usr/bin/env python3
"""Resource limits of the release gateway, measured on a real process.

Starts `portcullis serve` (a fresh process per scenario, on a free port, with a generated
config: an HS256 issuer, an `auth: access` route and an `auth: none` route) in front of its own
upstream (this script run with --upstream, a threaded raw-socket HTTP/1.1 server in a
separate process that reads every request body fully, Content-Length or chunked, and
answers with its byte count and CRC-32; /download?mib=N sends N MiB). For each scenario it
asserts what the SPEC promises and reads the gateway's VmRSS and VmHWM from
/proc/PID/status (a sampler thread also records the highest VmRSS it saw):

  1. baseline: after start and 100 authorized requests (plus 401s without/with a bad token);
  2. idle: 1000 keep-alive connections, each after one request, held open at once; each
     makes one more request afterwards;
  3. bodies: 10000 POSTs with 1 MiB bodies (Content-Length) over 8 keep-alive connections;
     every one 200, the upstream got every byte (count and CRC-32, per request and in sum);
  4. slowloris: 200 connections sending a partial head one byte a second with
     header_timeout 2s: each gets 408 or is closed within 3.5 s of its connect; a normal
     request meanwhile is answered;
  5. slow reader: the upstream sends 200 MiB; the client reads nothing for 5 s, then reads
     slowly, then all: the gateway does not buffer the body (RSS), the upstream is held back
     (bytes it could send during the stall), the body arrives intact;
  6. max_connections 100: 100 connections held open, 50 more are closed at accept, the 100
     still work, and capacity comes back when some close.

Prints one markdown table; exits 1 if any scenario failed. `--quick` uses smaller counts
(for CI). Python 3 standard library only; Linux only (/proc).

    scripts/limits.py [--binary .build/release/portcullis] [--quick] [--only bodies,idle]
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import resource
import selectors
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import deque

MIB = 1 << 20
HOST = "127.0.0.1"
ISSUER = "https://limits.portcullis.test"
AUDIENCE = "limits"
SECRET = "limits-hs256-secret-0123456789abcdef0123456789"
DOWNLOAD_SEED = 7


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def wait_for(predicate, timeout, interval=0.01, what="condition"):
    """Polls `predicate` until it returns a truthy value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failure(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def log(message):
    print(f"[limits] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Upstream (runs in its own process: `limits.py --upstream`)
# ---------------------------------------------------------------------------------------

def download_block(base, index):
    """Block `index` of a download: 1 MiB whose last 8 bytes carry the index."""
    return base[:-8] + index.to_bytes(8, "big")


def download_base():
    return random.Random(DOWNLOAD_SEED).randbytes(MIB)


class UpstreamStats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.body_bytes = 0
        self.body_crc_sum = 0
        self.download_sent = 0
        self.download_crc = 0
        self.download_done = False
        self.downloads = 0

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "body_bytes": self.body_bytes,
                "body_crc_sum": self.body_crc_sum,
                "download_sent": self.download_sent,
                "download_crc": self.download_crc,
                "download_done": self.download_done,
                "downloads": self.downloads,
            }


class LineReader:
    """Buffered reads from a socket: heads and lines, then bodies straight from the socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def read_until(self, delim, limit):
        start = 0
        while True:
            i = self.buf.find(delim, start)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[: i + len(delim)]
                return out
            if len(self.buf) > limit:
                raise ValueError("line or head too long")
            start = max(0, len(self.buf) - len(delim) + 1)
            self._fill()

    def consume(self, n, crc=0, sink=None):
        """Reads exactly n bytes, returning their CRC-32 (chained from `crc`)."""
        if self.buf:
            take = min(n, len(self.buf))
            piece = bytes(self.buf[:take])
            del self.buf[:take]
            crc = zlib.crc32(piece, crc)
            if sink is not None:
                sink(piece)
            n -= take
        while n > 0:
            data = self.sock.recv(min(n, 262144))
            if not data:
                raise EOFError("connection closed in a body")
            crc = zlib.crc32(data, crc)
            if sink is not None:
                sink(data)
            n -= len(data)
        return crc


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return first, headers


def read_body(reader, headers):
    """Reads a Content-Length or chunked body; returns (length, crc32)."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        total, crc = 0, 0
        while True:
            size_line = reader.read_until(b"\r\n", 1024)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while reader.read_until(b"\r\n", 65536):  # trailers up to the empty line
                    pass
                return total, crc
            crc = reader.consume(size, crc)
            total += size
            check(reader.read_until(b"\r\n", 16) == b"", "bad chunk end")
    length = int(headers.get("content-length", "0"))
    return length, reader.consume(length) if length else 0


def make_upstream_handler(stats, base):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = LineReader(sock)
            try:
                while True:
                    head = reader.read_until(b"\r\n\r\n", 65536)
                    first, headers = parse_head(head)
                    method, target, _ = first.split(" ", 2)
                    length, crc = read_body(reader, headers)
                    path, _, query = target.partition("?")
                    if path.endswith("/_stats"):
                        self.send_json(sock, stats.snapshot())
                    elif path.endswith("/download"):
                        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                        self.download(sock, int(params.get("mib", "1")))
                    else:
                        with stats.lock:
                            stats.requests += 1
                            stats.body_bytes += length
                            stats.body_crc_sum += crc
                        self.send_json(sock, {
                            "method": method, "path": target, "len": length, "crc": crc,
                            "user": headers.get("x-user-id"),
                        })
                    if headers.get("connection", "").lower() == "close":
                        return
            except (EOFError, ConnectionError, OSError):
                return

        @staticmethod
        def send_json(sock, obj):
            body = json.dumps(obj).encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

        @staticmethod
        def download(sock, mib):
            with stats.lock:
                stats.download_sent = 0
                stats.download_crc = 0
                stats.download_done = False
                stats.downloads += 1
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % (mib * MIB))
            crc = 0
            for i in range(mib):
                block = memoryview(download_block(base, i))
                for off in range(0, MIB, 65536):
                    piece = block[off: off + 65536]
                    sock.sendall(piece)  # returns once the kernel took it: "sent"
                    crc = zlib.crc32(piece, crc)
                    with stats.lock:
                        stats.download_sent += len(piece)
                        stats.download_crc = crc
            with stats.lock:
                stats.download_done = True

    return Handler


class ThreadedServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def run_upstream():
    stats = UpstreamStats()
    server = ThreadedServer((HOST, 0), make_upstream_handler(stats, download_base()))
    print(server.server_address[1], flush=True)
    server.serve_forever()


# ---------------------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Conn:
    """One HTTP/1.1 keep-alive client connection."""

    def __init__(self, port, timeout=15.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = LineReader(self.sock)

    def send_request(self, method, path, headers=None, body=b"", body_parts=None):
        parts = body_parts if body_parts is not None else ([body] if body else [])
        length = sum(len(p) for p in parts)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if length or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {length}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for part in parts:
            self.sock.sendall(part)

    def read_head(self):
        first, headers = parse_head(self.reader.read_until(b"\r\n\r\n", 65536))
        return int(first.split(" ")[1]), headers

    def read_response(self):
        status, headers = self.read_head()
        chunks = []
        if headers.get("transfer-encoding", "").lower() == "chunked":
            read_body_chunks(self.reader, chunks.append)
        else:
            self.reader.consume(int(headers.get("content-length", "0")), sink=chunks.append)
        return Response(status, headers, b"".join(chunks))

    def request(self, method, path, headers=None, body=b"", body_parts=None):
        self.send_request(method, path, headers, body, body_parts)
        return self.read_response()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def read_body_chunks(reader, sink):
    while True:
        size = int(reader.read_until(b"\r\n", 1024).split(b";")[0].strip(), 16)
        if size == 0:
            while reader.read_until(b"\r\n", 65536):
                pass
            return
        reader.consume(size, sink=sink)
        reader.read_until(b"\r\n", 16)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(sub, secret=SECRET, lifetime=3600):
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + lifetime,
              "jti": os.urandom(12).hex()}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def bearer(sub):
    return {"Authorization": "Bearer " + mint_token(sub)}


# ---------------------------------------------------------------------------------------
# Processes: upstream and gateway
# ---------------------------------------------------------------------------------------

class Upstream:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--upstream"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        check(line.strip().isdigit(), f"upstream did not start (got {line!r})")
        self.port = int(line)
        self._conn = None

    def stats(self):
        for attempt in range(2):
            try:
                if self._conn is None:
                    self._conn = Conn(self.port, timeout=5)
                return self._conn.request("GET", "/_stats").json()
            except (OSError, EOFError):
                if self._conn:
                    self._conn.close()
                self._conn = None
                if attempt:
                    raise

    def stop(self):
        if self._conn:
            self._conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def proc_status(pid):
    """VmRSS and VmHWM of a process in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


class Sampler:
    """Samples a process's VmRSS every `interval` seconds in a thread; keeps the highest."""

    def __init__(self, pid, interval=0.02):
        self.pid, self.interval = pid, interval
        self.peak = proc_status(pid)[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak, proc_status(self.pid)[0])
            except (OSError, KeyError):
                return

    def stop(self):
        self._stop.set()
        self._thread.join()
        try:
            self.peak = max(self.peak, proc_status(self.pid)[0])
        except (OSError, KeyError):
            pass
        return self.peak


class Gateway:
    def __init__(self, binary, upstream_port, workers, server_extra):
        self.dir = tempfile.mkdtemp(prefix="portcullis-limits-")
        self.config = os.path.join(self.dir, "gateway.yaml")
        server_lines = "\n".join(f"  {k}: {v}" for k, v in server_extra.items())
        with open(self.config, "w") as f:
            f.write(f"""\
server:
  listen: {HOST}:0
  workers: {workers}
{server_lines}
log:
  level: info
  format: json
  access_log: false
jwt:
  issuers:
    - issuer: {ISSUER}
      audiences: [{AUDIENCE}]
      algorithms: [HS256]
      keys:
        - secret: {SECRET}
  require: [exp, iat, jti]
blocklist:
  plugin: memory
upstreams:
  up:
    url: http://{HOST}:{upstream_port}
    connect_timeout: 2s
    timeout: 30s
routes:
  - name: api
    path_prefix: /api/
    upstream: up
    auth: access
    forward_claims:
      sub: X-User-Id
  - name: open
    path_prefix: /open/
    upstream: up
    auth: none
""")
        self.stderr_tail = deque(maxlen=50)
        self.port = None
        self._listening = threading.Event()
        self.proc = subprocess.Popen([binary, "serve", "--config", self.config],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._listening.wait(15) or self.port is None:
            self.stop()
            raise Failure("gateway did not report `listening`: " + " | ".join(self.stderr_tail))
        self.pid = self.proc.pid

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip())
            if self.port is None:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("message") == "listening":
                    self.port = int(entry["portcullis.listen"].rsplit(":", 1)[1])
                    self._listening.set()
        self._listening.set()

    def status(self):
        self.assert_alive()
        return proc_status(self.pid)

    def assert_alive(self):
        rc = self.proc.poll()
        if rc is not None:
            raise Failure(f"gateway exited with status {rc}; stderr: "
                          + " | ".join(list(self.stderr_tail)[-5:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


# ---------------------------------------------------------------------------------------
# Scenarios. Each returns a dict: rss_after, peak (text), notes; raises Failure.
# ---------------------------------------------------------------------------------------

def fmt(mib):
    return f"{mib:.1f}"


def peak_text(gw, sampler_peak=None):
    hwm = gw.status()[1]
    if sampler_peak is None:
        return f"VmHWM {fmt(hwm)}"
    return f"VmHWM {fmt(hwm)}, sampled {fmt(sampler_peak)}"


def scenario_baseline(ctx, gw):
    rss_start = gw.status()[0]
    stats0 = ctx.upstream.stats()
    conn = Conn(gw.port)
    for i in range(100):
        r = conn.request("GET", f"/api/baseline/{i}", bearer(f"user-{i % 7}"))
        check(r.status == 200, f"request {i}: status {r.status} {r.body[:200]!r}")
        check(r.json()["user"] == f"user-{i % 7}", f"request {i}: X-User-Id {r.json()['user']!r}")
    r = conn.request("GET", "/api/baseline/no-token")
    check(r.status == 401 and b"missing_token" in r.body, f"no token: {r.status} {r.body!r}")
    forged = {"Authorization": "Bearer " + mint_token("mallory", secret="not-" + SECRET)}
    r = conn.request("GET", "/api/baseline/forged", forged)
    check(r.status == 401 and b"invalid_token" in r.body, f"forged token: {r.status} {r.body!r}")
    conn.close()
    stats1 = ctx.upstream.stats()
    forwarded = stats1["requests"] - stats0["requests"]
    check(forwarded == 100, f"upstream saw {forwarded} requests, expected 100")
    rss, _ = gw.status()
    return {"rss_after": rss, "peak": peak_text(gw),
            "notes": f"RSS at start {fmt(rss_start)}; 100/100 authorized GETs 200 "
                     f"(X-User-Id forwarded), no token 401, forged 401; upstream saw 100"}


def scenario_idle(ctx, gw):
    n = ctx.idle
    rss_start = gw.status()[0]
    sampler = Sampler(gw.pid)
    conns = []
    try:
        for i in range(n):
            c = Conn(gw.port)
            conns.append(c)
            r = c.request("GET", f"/open/idle/{i}")
            check(r.status == 200, f"connection {i}: first request {r.status}")
        rss_held, _ = gw.status()
        gw.assert_alive()
        t0 = time.monotonic()
        for i, c in enumerate(conns):
            try:
                r = c.request("GET", f"/open/idle/{i}/again")
            except (OSError, EOFError) as e:
                raise Failure(f"idle connection {i} no longer usable: {e!r}")
            check(r.status == 200, f"idle connection {i}: second request {r.status}")
        second = time.monotonic() - t0
    finally:
        for c in conns:
            c.close()
    peak = sampler.stop()
    rss_after = gw.status()[0]
    per_conn_kib = (rss_held - rss_start) * 1024 / n
    return {"rss_after": rss_after, "peak": peak_text(gw, peak),
            "notes": f"RSS at start {fmt(rss_start)}, with {n} idle held {fmt(rss_held)} "
                     f"(~{per_conn_kib:.0f} KiB per connection); all {n} usable afterwards "
                     f"({second:.2f} s for the {n} second requests)"}


def scenario_bodies(ctx, gw):
    count, conc = ctx.bodies, 8
    base = os.urandom(MIB)
    head_part = memoryview(base)[:-16]
    head_crc = zlib.crc32(head_part)
    rss_start = gw.status()[0]
    stats0 = ctx.upstream.stats()
    errors = []
    expected_crc_sum = [0] * conc
    done = [0] * conc

    def worker(k):
        try:
            conn = Conn(gw.port, timeout=30)
            auth = bearer(f"uploader-{k}")
            for i in range(k, count, conc):
                tail = struct.pack(">QQ", i, 0x706F727463756C6C)
                expect = zlib.crc32(tail, head_crc)
                r = conn.request("POST", f"/api/upload/{i}", auth, body_parts=[head_part, tail])
                if r.status != 200:
                    raise Failure(f"body {i}: status {r.status} {r.body[:200]!r}")
                got = r.json()
                if got["len"] != MIB or got["crc"] != expect:
                    raise Failure(f"body {i}: upstream got {got['len']} bytes crc {got['crc']:#x}, "
                                  f"sent {MIB} crc {expect:#x}")
                expected_crc_sum[k] += expect
                done[k] += 1
            conn.close()
        except Exception as e:  # reported below
            errors.append(f"worker {k}: {e!r}")

    sampler = Sampler(gw.pid)
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    peak = sampler.stop()
    gw.assert_alive()
    check(not errors, "; ".join(errors[:3]))
    answered = sum(done)
    check(answered == count, f"{answered} of {count} answered")
    stats1 = ctx.upstream.stats()
    got_requests = stats1["requests"] - stats0["requests"]
    got_bytes = stats1["body_bytes"] - stats0["body_bytes"]
    got_sum = stats1["body_crc_sum"] - stats0["body_crc_sum"]
    check(got_requests == count, f"upstream saw {got_requests} requests, expected {count}")
    check(got_bytes == count * MIB, f"upstream got {got_bytes} body bytes, expected {count * MIB}")
    check(got_sum == sum(expected_crc_sum), "sum of the upstream's CRC-32s differs")
    rss_after = gw.status()[0]
    return {"rss_after": rss_after, "peak": peak_text(gw, peak),
            "notes": f"{count}/{count} 200 over {conc} connections in {elapsed:.1f} s "
                     f"({count / elapsed:.0f} req/s, {count * MIB / MIB / elapsed:.0f} MiB/s each way); "
                     f"upstream got {got_bytes} bytes, per-request CRC-32s and their sum match; "
                     f"RSS at start {fmt(rss_start)}"}


def scenario_slowloris(ctx, gw):
    n, silent = ctx.slowloris, 10
    limit = 3.5  # header_timeout 2s, timed from accept, plus slack for a loaded machine
    head = (b"GET /open/slowloris HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
            b"X-Slow: " + b"z" * 64 + b"\r\n\r\n")
    rss_start = gw.status()[0]
    sampler = Sampler(gw.pid)
    sel = selectors.DefaultSelector()
    conns = []  # dicts: sock, start, sent, data, end, outcome, silent
    for i in range(n + silent):
        sock = socket.create_connection((HOST, gw.port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = {"sock": sock, "start": time.monotonic(), "sent": 0, "data": b"", "end": None,
             "outcome": None, "silent": i >= n, "first_data": None}
        if not c["silent"]:
            sock.sendall(head[:1])
            c["sent"] = 1
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, c)
        conns.append(c)
    all_open = time.monotonic()

    normal = {}

    def normal_request():
        t = time.monotonic()
        try:
            conn = Conn(gw.port, timeout=5)
            r = conn.request("GET", "/open/normal")
            conn.close()
            normal["status"] = r.status
        except Exception as e:
            normal["status"] = repr(e)
        normal["latency"] = time.monotonic() - t
        normal["at"] = time.monotonic() - all_open

    threading.Thread(target=normal_request).start()

    def finish(c, outcome):
        c["end"], c["outcome"] = time.monotonic(), outcome
        sel.unregister(c["sock"])
        c["sock"].close()

    next_tick = all_open + 1.0
    deadline = all_open + limit + 1.0
    while any(c["end"] is None for c in conns) and time.monotonic() < deadline:
        timeout = max(0.0, min(next_tick, deadline) - time.monotonic())
        for key, _ in sel.select(timeout):
            c = key.data
            try:
                data = c["sock"].recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                finish(c, "reset")
                continue
            if data:
                c["data"] += data
                if c["first_data"] is None:
                    c["first_data"] = time.monotonic()
            else:
                finish(c, "eof")
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            for c in conns:  # one more byte on each connection still waiting
                if c["end"] is None and not c["silent"] and not c["data"] and c["sent"] < len(head):
                    try:
                        c["sock"].send(head[c["sent"]: c["sent"] + 1])
                        c["sent"] += 1
                    except (BrokenPipeError, ConnectionResetError):
                        finish(c, "reset")
    for c in conns:
        if c["end"] is None:
            finish(c, "open")
            c["end"] = None
    peak = sampler.stop()
    gw.assert_alive()

    slow = [c for c in conns if not c["silent"]]
    quiet = [c for c in conns if c["silent"]]
    got408 = [c for c in slow if c["data"].startswith(b"HTTP/1.1 408") and b"request_timeout" in c["data"]]
    still_open = [c for c in conns if c["end"] is None]
    other = [c for c in slow if c["data"] and c not in got408]
    times = [c["end"] - c["start"] for c in conns if c["end"] is not None]
    late = [t for t in times if t > limit]
    quiet_with_data = [c for c in quiet if c["data"]]
    bytes_sent = max(c["sent"] for c in slow)
    check(not still_open, f"{len(still_open)} connections still open {limit + 1:g} s after connecting")
    check(not late, f"{len(late)} connections closed later than {limit} s (max {max(times):.2f} s)")
    check(not other, f"{len(other)} got something other than 408: {other[0]['data'][:80]!r}" if other else "")
    check(not quiet_with_data, f"{len(quiet_with_data)} silent connections got data "
                               f"({quiet_with_data[0]['data'][:60]!r})" if quiet_with_data else "")
    check(normal.get("status") == 200, f"normal request during the attack: {normal.get('status')}")
    check(normal["at"] < 1.9, f"normal request ended {normal['at']:.2f} s in, not during the attack")
    rss_after = gw.status()[0]
    resets = sum(1 for c in slow if c["outcome"] == "reset")
    first408 = [c["first_data"] - c["start"] for c in got408]
    return {"rss_after": rss_after, "peak": peak_text(gw, peak),
            "notes": f"{len(got408)}/{n} got 408 request_timeout "
                     f"({min(first408):.2f}-{max(first408):.2f} s after connect), "
                     f"{n - len(got408)} closed without an answer ({resets} by reset), "
                     f"every one closed within {max(times):.2f} s (limit {limit} s), "
                     f"at most {bytes_sent} head bytes sent; {silent} silent connections closed "
                     f"without data; a normal request meanwhile: 200 in "
                     f"{normal['latency'] * 1000:.0f} ms; RSS at start {fmt(rss_start)}"}


def scenario_slow_reader(ctx, gw):
    mib, stall = ctx.download_mib, ctx.stall
    size = mib * MIB
    rss_start = gw.status()[0]
    sampler = Sampler(gw.pid)
    conn = Conn(gw.port, timeout=30)
    conn.send_request("GET", f"/open/download?mib={mib}")
    t0 = time.monotonic()
    # The stall is the scenario itself: the client reads nothing; the upstream's progress is
    # polled meanwhile to see where it is held back.
    progress = []
    while time.monotonic() - t0 < stall:
        progress.append((time.monotonic() - t0, ctx.upstream.stats()["download_sent"]))
        time.sleep(0.25)
    sent_at_stall = ctx.upstream.stats()["download_sent"]
    sent_second_last = max((s for t, s in progress if t <= stall - 1.0), default=0)
    rss_stall = gw.status()[0]
    gw.assert_alive()

    status, headers = conn.read_head()
    check(status == 200, f"download status {status}")
    check(int(headers.get("content-length", "-1")) == size or
          headers.get("transfer-encoding", "").lower() == "chunked",
          f"download framing {headers}")
    received, crc = 0, 0

    def count(piece):
        nonlocal received, crc
        received += len(piece)
        crc = zlib.crc32(piece, crc)

    # Slow phase: 64 KiB every 20 ms (about 3 MiB/s) for 2 s.
    slow_until = time.monotonic() + 2.0
    while time.monotonic() < slow_until:
        conn.reader.consume(min(65536, size - received), sink=count)
        time.sleep(0.02)
    rss_slow = gw.status()[0]
    conn.reader.consume(size - received, sink=count)
    elapsed = time.monotonic() - t0
    conn.close()
    peak = sampler.stop()
    gw.assert_alive()

    stats = wait_for(lambda: (lambda s: s if s["download_done"] else None)(ctx.upstream.stats()),
                     10, what="the upstream to finish the download")
    base = download_base()
    expected = 0
    for i in range(mib):
        expected = zlib.crc32(download_block(base, i), expected)
    check(received == size, f"received {received} bytes, expected {size}")
    check(stats["download_sent"] == size, f"upstream sent {stats['download_sent']}")
    check(crc == expected == stats["download_crc"],
          f"CRC-32 received {crc:#x}, upstream sent {stats['download_crc']:#x}, expected {expected:#x}")
    growth = peak - rss_start
    check(sent_at_stall < size // 2,
          f"the upstream sent {sent_at_stall / MIB:.1f} MiB of {mib} MiB while the client read nothing")
    check(sent_at_stall - sent_second_last < 2 * MIB,
          f"the upstream still made progress at the end of the stall "
          f"({(sent_at_stall - sent_second_last) / MIB:.1f} MiB in the last second)")
    check(growth < 64, f"RSS grew by {growth:.1f} MiB while a {mib} MiB body went through")
    rss_after = gw.status()[0]
    return {"rss_after": rss_after, "peak": peak_text(gw, peak),
            "notes": f"upstream sent {sent_at_stall / MIB:.1f} MiB of {mib} MiB during the {stall:g} s "
                     f"stall (then stuck: +{(sent_at_stall - sent_second_last) / 1024:.0f} KiB in "
                     f"its last second); RSS start {fmt(rss_start)}, end of stall {fmt(rss_stall)}, "
                     f"slow reading {fmt(rss_slow)}, peak growth {growth:.1f} MiB; "
                     f"{received} bytes, CRC-32 matches; {elapsed:.1f} s in all"}


def scenario_max_connections(ctx, gw):
    limit, extra, recycle = 100, 50, 10
    rss_start = gw.status()[0]
    held = []
    extras = []
    try:
        for i in range(limit):
            c = Conn(gw.port)
            held.append(c)
            r = c.request("GET", f"/open/held/{i}")
            check(r.status == 200, f"held connection {i}: {r.status}")
        # 50 more: the kernel completes the handshake, the gateway closes them at accept.
        for i in range(extra):
            s = socket.create_connection((HOST, gw.port), timeout=5)
            extras.append({"sock": s, "start": time.monotonic(), "end": None, "how": None})
        sel = selectors.DefaultSelector()
        for e in extras:
            e["sock"].setblocking(False)
            sel.register(e["sock"], selectors.EVENT_READ, e)
        deadline = time.monotonic() + 3.0
        while any(e["end"] is None for e in extras) and time.monotonic() < deadline:
            for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
                e = key.data
                try:
                    data = e["sock"].recv(4096)
                    e["how"] = "eof" if not data else f"data {data[:40]!r}"
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    e["how"] = "reset"
                e["end"] = time.monotonic()
                sel.unregister(e["sock"])
        open_extras = [e for e in extras if e["end"] is None]
        check(not open_extras, f"{len(open_extras)} of the {extra} extra connections were not closed "
                               f"within 3 s")
        answered = [e for e in extras if e["how"].startswith("data")]
        check(not answered, f"{len(answered)} extra connections got data: {answered[0]['how']}"
              if answered else "")
        slowest = max(e["end"] - e["start"] for e in extras)
        check(slowest < 1.0, f"an extra connection took {slowest:.2f} s to be closed")
        resets = sum(1 for e in extras if e["how"] == "reset")
        rss_full = gw.status()[0]
        for i, c in enumerate(held):
            try:
                r = c.request("GET", f"/open/held/{i}/again")
            except (OSError, EOFError) as e:
                raise Failure(f"held connection {i} broken after the extras: {e!r}")
            check(r.status == 200, f"held connection {i} after the extras: {r.status}")
        # Capacity comes back: close 10 held ones, 10 new connections get served (the gateway
        # notices the closes asynchronously, so a refused one is retried until a deadline).
        for c in held[:recycle]:
            c.close()
        held = held[recycle:]

        def new_served():
            try:
                c = Conn(gw.port, timeout=5)
                r = c.request("GET", "/open/recycled")
                if r.status == 200:
                    return c
                c.close()
            except (OSError, EOFError):
                pass
            return None

        for i in range(recycle):
            held.append(wait_for(new_served, 5, what=f"recycled connection {i} to be served"))
        over = socket.create_connection((HOST, gw.port), timeout=3)
        try:
            over_result = over.recv(4096)
            over_how = "eof" if not over_result else f"data {over_result[:40]!r}"
        except ConnectionResetError:
            over_how = "reset"
        except socket.timeout:
            over_how = "still open after 3 s"
        over.close()
        check(over_how in ("eof", "reset"), f"connection {limit + 1} after recycling: {over_how}")
    finally:
        for c in held:
            c.close()
        for e in extras:
            e["sock"].close()
    rss_after = gw.status()[0]
    return {"rss_after": rss_after, "peak": peak_text(gw),
            "notes": f"{extra}/{extra} extra connections closed at accept within "
                     f"{slowest * 1000:.0f} ms ({extra - resets} EOF, {resets} reset), no data; "
                     f"the {limit} held ones all answered 200 afterwards; after {recycle} closed, "
                     f"{recycle} new ones were served and the next was closed again; "
                     f"RSS at start {fmt(rss_start)}, with {limit} held {fmt(rss_full)}"}


SCENARIOS = [
    ("baseline", "1. baseline (start + 100 requests)", scenario_baseline, {}),
    ("idle", "2. {idle} idle keep-alive connections", scenario_idle, {}),
    ("bodies", "3. {bodies} x 1 MiB POST bodies", scenario_bodies, {}),
    ("slowloris", "4. slowloris x {slowloris} (header_timeout 2s)", scenario_slowloris,
     {"header_timeout": "2s"}),
    ("slow_reader", "5. slow reader, {download_mib} MiB download", scenario_slow_reader, {}),
    ("max_connections", "6. max_connections 100 (+50)", scenario_max_connections,
     {"max_connections": 100}),
]


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    check(soft == resource.RLIM_INFINITY or soft >= needed,
          f"file-descriptor limit {soft} (hard {hard}) is below the {needed} needed; try --quick")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(root, ".build/release/portcullis"),
                        help="the gateway executable (default: .build/release/portcullis)")
    parser.add_argument("--quick", action="store_true", help="smaller counts, for CI")
    parser.add_argument("--workers", default="auto", help="server.workers (default auto)")
    parser.add_argument("--only", default="", help="comma-separated scenario keys: "
                        + ",".join(key for key, *_ in SCENARIOS))
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        return run_upstream()

    class Ctx:
        pass

    ctx = Ctx()
    ctx.idle = 200 if args.quick else 1000
    ctx.bodies = 1000 if args.quick else 10000
    ctx.slowloris = 50 if args.quick else 200
    ctx.download_mib = 200
    ctx.stall = 3.0 if args.quick else 5.0
    selected = [s for s in SCENARIOS if not args.only or s[0] in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - {key for key, *_ in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        parser.error(f"no gateway executable at {binary} (build it: swift build -c release)")
    raise_fd_limit(ctx.idle + 1024)

    started = time.monotonic()
    ctx.upstream = Upstream()
    rows, failed = [], 0
    try:
        for key, title, func, server_extra in selected:
            title = title.format(**vars(ctx))
            log(f"{title} ...")
            t0 = time.monotonic()
            gw = None
            try:
                gw = Gateway(binary, ctx.upstream.port, args.workers, server_extra)
                out = func(ctx, gw)
                rows.append((title, "pass", fmt(out["rss_after"]), out["peak"], out["notes"]))
            except Exception as e:  # a failed scenario is reported; the others still run
                failed += 1
                rss, peak = "-", "-"
                if gw is not None and gw.proc.poll() is None:
                    r, h = proc_status(gw.pid)
                    rss, peak = fmt(r), f"VmHWM {fmt(h)}"
                message = str(e) if isinstance(e, Failure) else repr(e)
                if gw is not None:
                    log("gateway stderr (last lines):\n  " + "\n  ".join(list(gw.stderr_tail)[-10:]))
                rows.append((title, "**FAIL**", rss, peak, message))
            finally:
                if gw is not None:
                    gw.stop()
            log(f"{title}: {rows[-1][1]} ({time.monotonic() - t0:.1f} s)")
    finally:
        ctx.upstream.stop()

    print(f"\nGateway `{binary}`, workers {args.workers}, {'--quick' if args.quick else 'full'} run, "
          f"{time.monotonic() - started:.0f} s. RSS in MiB; each scenario runs on a fresh process.\n")
    print("| scenario | result | RSS after (MiB) | peak RSS (MiB) | notes |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
