"""A stand-in for the few Kubernetes API endpoints kubectl uses for pa-apply.

It serves legacy discovery, GET of deployments, and GET and merge PATCH of
the scale subresource of deployments and of HorizontalPodAutoscalers.  The
objects live in memory.  Every request received (method, path, content
type, body) is appended as one JSON line to the log file, so a test can
check what kubectl sent.

usage: python3 t-apply-kubemock.py PORT LOGFILE PORTFILE
Objects are seeded below; a PATCH of any object named fail-* answers 500.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEPLOYMENTS = {("prod", "acme-web"): 2, ("prod", "acme-api"): 6, ("prod", "acme-db"): 4,
               ("prod", "fail-one"): 1, ("prod", "acme-web-spot"): 0,
               ("prod", "checkout"): 2, ("prod", "shop-cart"): 2, ("prod", "shop-cart-spot"): 4,
               ("prod", "shop-pay"): 2, ("prod", "shop-pay-spot"): 4,
               ("prod", "shop-web"): 4, ("prod", "shop-web-spot"): 1}
# Deployments whose new pods never become ready: readyReplicas stays at
# this count however far they are scaled up.  The others are ready at once.
SLOW = {("prod", "shop-cart"): 2, ("prod", "shop-web-spot"): 1}
HPAS = {("prod", "acme-web"): {"minReplicas": 2, "maxReplicas": 4},
        ("prod", "acme-api"): {"minReplicas": 3, "maxReplicas": 10}}

RESOURCES = {
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "namespaces", "singularName": "namespace", "namespaced": False,
         "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]}]},
    "/apis/apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
        {"name": "deployments", "singularName": "deployment", "namespaced": True,
         "kind": "Deployment", "verbs": ["get", "list", "patch", "update"],
         "shortNames": ["deploy"]},
        {"name": "deployments/scale", "singularName": "", "namespaced": True,
         "group": "autoscaling", "version": "v1", "kind": "Scale",
         "verbs": ["get", "patch", "update"]}]},
    "/apis/autoscaling/v2": {"kind": "APIResourceList", "groupVersion": "autoscaling/v2",
                             "resources": [
        {"name": "horizontalpodautoscalers", "singularName": "horizontalpodautoscaler",
         "namespaced": True, "kind": "HorizontalPodAutoscaler",
         "verbs": ["get", "list", "patch", "update"], "shortNames": ["hpa"]}]},
    "/apis/autoscaling/v1": {"kind": "APIResourceList", "groupVersion": "autoscaling/v1",
                             "resources": []},
}


def group(name, versions):
    vs = [{"groupVersion": name + "/" + v, "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, body):
        with open(self.server.logfile, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "content_type": self.headers.get("Content-Type"),
                                "body": body}) + "\n")

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def scale(self, ns, name):
        n = DEPLOYMENTS[(ns, name)]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": n}, "status": {"replicas": n}}

    def deployment(self, ns, name):
        n = DEPLOYMENTS[(ns, name)]
        ready = min(n, SLOW.get((ns, name), n))
        status = {"replicas": n}
        if ready > 0:       # the API server omits a zero count
            status["readyReplicas"] = ready
        return {"kind": "Deployment", "apiVersion": "apps/v1",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": n}, "status": status}

    def hpa(self, ns, name):
        return {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                "metadata": {"name": name, "namespace": ns},
                "spec": dict(HPAS[(ns, name)], scaleTargetRef={
                    "apiVersion": "apps/v1", "kind": "Deployment", "name": name})}

    def route(self, body):
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if self.command == "GET" and path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if self.command == "GET" and path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                group("apps", ["v1"]), group("autoscaling", ["v2", "v1"])]}
        if self.command == "GET" and path in RESOURCES:
            return 200, RESOURCES[path]
        if self.command == "GET" and len(parts) == 4 and parts[:3] == ["api", "v1", "namespaces"]:
            return 200, {"kind": "Namespace", "apiVersion": "v1",
                         "metadata": {"name": parts[3]}}
        # /apis/apps/v1/namespaces/NS/deployments/NAME/scale
        if len(parts) == 7 and parts[:3] == ["apis", "apps", "v1"] and \
                parts[3] == "namespaces" and parts[5] == "deployments" and \
                self.command == "GET":
            key = (parts[4], parts[6])
            if key not in DEPLOYMENTS:
                return 404, status(404, "NotFound",
                                   'deployments.apps "%s" not found' % key[1])
            return 200, self.deployment(*key)
        if len(parts) == 8 and parts[:3] == ["apis", "apps", "v1"] and \
                parts[5] == "deployments" and parts[7] == "scale":
            key = (parts[4], parts[6])
            if key not in DEPLOYMENTS:
                return 404, status(404, "NotFound",
                                   'deployments.apps "%s" not found' % key[1])
            if self.command == "PATCH":
                if key[1].startswith("fail-"):
                    return 500, status(500, "InternalError", "injected failure")
                patch = json.loads(body)
                DEPLOYMENTS[key] = patch["spec"]["replicas"]
            return 200, self.scale(*key)
        if len(parts) == 7 and parts[:3] == ["apis", "autoscaling", "v2"] and \
                parts[5] == "horizontalpodautoscalers":
            key = (parts[4], parts[6])
            if key not in HPAS:
                return 404, status(404, "NotFound",
                                   'horizontalpodautoscalers.autoscaling "%s" not found'
                                   % key[1])
            if self.command == "PATCH":
                patch = json.loads(body)
                HPAS[key].update(patch.get("spec", {}))
            return 200, self.hpa(*key)
        return 404, status(404, "NotFound", "not served by the mock: " + path)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.record(body)
        code, obj = self.route(body)
        self.reply(code, obj)

    do_GET = do_PATCH = do_PUT = do_POST = handle_any


def main():
    port, logfile, portfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.logfile = logfile
    with open(portfile, "w") as f:
        f.write(str(server.server_address[1]) + "\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
