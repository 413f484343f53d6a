"""Tiny HTTP backends and a request sender for the pa-route router tests.

serve LOG PORTFILE N  start N backends on 127.0.0.1 ephemeral ports.  Each
                      returns 200 with its index (1..N) as the body and
                      appends the index to LOG per request.  The ports go
                      to PORTFILE, one per line, once all are listening
send URL N            send N GET requests, each on a new connection, and
                      print {"body": count, ...} as JSON
"""
import http.client
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def serve(logfile, portfile, n):
    servers = []
    for index in range(1, n + 1):
        class Handler(BaseHTTPRequestHandler):
            body = str(index).encode()

            def log_message(self, *args):
                pass

            def do_GET(self):
                with LOCK, open(logfile, "a") as f:
                    f.write(self.body.decode() + "\n")
                self.send_response(200)
                self.send_header("Content-Length", str(len(self.body)))
                self.end_headers()
                self.wfile.write(self.body)

        servers.append(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(portfile + ".tmp", "w") as f:
        for s in servers:
            f.write("%d\n" % s.server_address[1])
    # Rename so a reader never sees a partial list.
    import os
    os.rename(portfile + ".tmp", portfile)
    threading.Event().wait()


def send(url, n):
    u = urllib.parse.urlsplit(url)
    counts = {}
    for i in range(n):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        try:
            conn.request("GET", u.path or "/")
            resp = conn.getresponse()
            body = resp.read().decode() if resp.status == 200 else "status-%d" % resp.status
        except OSError as e:
            body = "error-" + type(e).__name__
        finally:
            conn.close()
        counts[body] = counts.get(body, 0) + 1
    print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: t-route-backends.py serve LOG PORTFILE N | send URL N")
