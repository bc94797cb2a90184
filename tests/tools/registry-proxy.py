#!/usr/bin/python3
"""A test stand-in for a registry that wants a bearer token: it answers /v2/ requests without
`Authorization: Bearer TOKEN` with 401 and a WWW-Authenticate challenge pointing at its own
/token endpoint, and passes authorised ones on to a real registry (Debian's docker-registry).
It logs each request's path and Range header, and can cut the first blob download after N bytes
to make a pull fail half-way.

usage: registry-proxy.py LISTEN_PORT UPSTREAM_PORT LOG [CUT_AFTER_BYTES]"""
import http.server
import sys
import urllib.error
import urllib.request

TOKEN = "husk-test-token"
port, upstream, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cut_after = int(sys.argv[4]) if len(sys.argv) > 4 else 0
cut_done = False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def note(self, what):
        with open(log, "a") as f:
            f.write(what + "\n")

    def do_GET(self):
        global cut_done
        self.note("GET %s range=%s auth=%s" % (self.path, self.headers.get("Range"),
                                               "yes" if self.headers.get("Authorization") else "no"))
        if self.path.startswith("/token"):
            if "scope=repository" not in self.path or "service=husk-test" not in self.path:
                return self.reply(400, b"{}")
            return self.reply(200, b'{"token": "%s"}' % TOKEN.encode())
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            challenge = ('Bearer realm="http://127.0.0.1:%d/token",service="husk-test",'
                         'scope="repository:%s:pull"' % (port, "/".join(self.path.split("/")[2:4])))
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                              {"WWW-Authenticate": challenge})
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (upstream, self.path))
        for h in ("Accept", "Range"):
            if self.headers.get(h):
                req.add_header(h, self.headers.get(h))
        try:
            resp = urllib.request.urlopen(req)
            status, body, headers = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            status, body, headers = e.code, e.read(), e.headers
        extra = {h: headers[h] for h in ("Content-Type", "Docker-Content-Digest", "Content-Range") if headers.get(h)}
        if cut_after and not cut_done and "/blobs/" in self.path and len(body) > cut_after:
            cut_done = True
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.reply(status, body, extra)

    do_HEAD = do_GET

    def reply(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
