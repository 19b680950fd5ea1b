#!/usr/bin/env python3
"""Helpers of the migration check in run.sh (check_migration): recreate Tenant Operator v1.0's recorded objects
(migrate/testdata/v1) on a bare API server and compare them object by object before and after the migration.

  migrate_check.py creatable FILE [OWNER_UID]   the fixture object(s) as JSON to `kubectl create -f -`: server fields
                                                and status dropped, the controller ownerReference pointed at
                                                OWNER_UID (uids are the server's), a Service's cluster IPs dropped
  migrate_check.py status FILE NAME             the recorded status of object NAME in FILE (JSON), or nothing
  migrate_check.py migrated BEFORE AFTER        every object survived with its uid and is exactly what the migration
                                                promises (see check_migrated); exit 1 on any difference
  migrate_check.py rolledback BEFORE AFTER      after the rollback: every object is as v1.0 left it again, apart from
                                                what docs/migrating.md says the rollback leaves
  migrate_check.py versions FILE                kind/name resourceVersion, one per line (to prove nothing was written)
"""
import copy
import json
import sys

V1_TENANT_FINALIZER = "tenant.operator.kubernetes-tenants.org/finalizer"
V1_REGISTRY_FINALIZER = "kubernetes-tenants.org/registry-finalizer"
MC_TENANT_FINALIZER = "metacontroller.io/compositecontroller-tenant-controller"
GROUP = "operator.kubernetes-tenants.org/v1"
FAILURES = []


def load(path):
    with open(path) as f:
        d = json.load(f)
    if isinstance(d, list):
        return d
    if d.get("kind", "").endswith("List") and "items" in d:
        return d["items"]
    return [d]


def ref(o):
    return f'{o["kind"]} {o["metadata"].get("namespace", "")}/{o["metadata"]["name"]}'


def cmd_creatable(path, owner_uid=None):
    out = []
    for o in load(path):
        o = copy.deepcopy(o)
        o.pop("status", None)
        md = o["metadata"]
        for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"):
            md.pop(f, None)
        for r in md.get("ownerReferences", []):
            if r.get("controller") and owner_uid:
                r["uid"] = owner_uid
        if o["kind"] == "Service":
            # The recorded cluster's service CIDR is not this API server's.
            o["spec"].pop("clusterIP", None)
            o["spec"].pop("clusterIPs", None)
        out.append(o)
    print(json.dumps(out[0] if len(out) == 1 else {"apiVersion": "v1", "kind": "List", "items": out}))


def cmd_status(path, name):
    for o in load(path):
        if o["metadata"]["name"] == name and "status" in o:
            print(json.dumps({"status": o["status"]}))
            return


def fail(o, msg):
    FAILURES.append(f"{ref(o)}: {msg}")


def same(o, what, a, b):
    if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
        fail(o, f"{what} changed: {json.dumps(a, sort_keys=True)[:300]} -> {json.dumps(b, sort_keys=True)[:300]}")


def missing(b, a, path=""):
    """Leaves of b that a lacks or holds differently (fields a has in addition do not count)."""
    if isinstance(b, dict) and isinstance(a, dict):
        return [m for k in sorted(b) for m in missing(b[k], a.get(k), f"{path}.{k}")]
    return [] if b == a else [f"{path}: {json.dumps(b)} -> {json.dumps(a)}"]


def added(b, a, path=""):
    if isinstance(b, dict) and isinstance(a, dict):
        return [f"{path}.{k}" for k in sorted(a) if k not in b] + [m for k in sorted(b) if k in a for m in added(b[k], a[k], f"{path}.{k}")]
    return []


def body(o):
    """Everything but metadata and status: what a change of would re-configure or roll out a workload."""
    c = copy.deepcopy(o)
    c.pop("metadata", None)
    c.pop("status", None)
    return c


def by_uid(path):
    return {o["metadata"]["uid"]: o for o in load(path)}


def controller(o):
    for r in o["metadata"].get("ownerReferences", []):
        if r.get("controller"):
            return r
    return None


def pair(before_path, after_path):
    before, after = by_uid(before_path), by_uid(after_path)
    for uid, o in before.items():
        if uid not in after:
            fail(o, f"uid {uid} is gone: deleted or re-created")
    for uid, o in after.items():
        if uid not in before:
            fail(o, f"uid {uid} is new: created or re-created")
    return [(before[u], after[u]) for u in sorted(before) if u in after]


def common(b, a):
    same(a, "uid", b["metadata"]["uid"], a["metadata"]["uid"])
    same(a, "ownerReferences", b["metadata"].get("ownerReferences"), a["metadata"].get("ownerReferences"))
    if b["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
        same(a, "pod template", b["spec"]["template"], a["spec"]["template"])
        same(a, "generation (a new one rolls out)", b["metadata"].get("generation"), a["metadata"].get("generation"))


def cmd_migrated(before_path, after_path):
    pairs = pair(before_path, after_path)
    counts = {}
    for b, a in pairs:
        common(b, a)
        kind = a["kind"]
        counts[kind] = counts.get(kind, 0) + 1
        lb, la = b["metadata"].get("labels", {}), a["metadata"].get("labels", {})
        ctl = controller(b)
        if a["apiVersion"] == GROUP and kind == "Tenant":
            want = dict(lb, **{"controller-uid": ctl["uid"], "kubernetes-tenants.org/template": a["spec"]["templateRef"]})
            same(a, "labels", want, la)
            same(a, "finalizers", [MC_TENANT_FINALIZER], a["metadata"].get("finalizers"))
            same(a, "annotations (v1.0's row, kept for a rollback)", b["metadata"].get("annotations"), a["metadata"].get("annotations"))
            same(a, "spec fields", ["claims", "registryId", "templateRef", "uid", "values"], sorted(a["spec"]))
            ann = b["metadata"]["annotations"]
            want_values = dict(json.loads(ann["kubernetes-tenants.org/extra"]), uid=b["spec"]["uid"],
                               hostOrUrl=ann["kubernetes-tenants.org/hostOrUrl"], activate=ann["kubernetes-tenants.org/activate"])
            same(a, "spec.values (v1.0's row)", want_values, a["spec"]["values"])
            same(a, "status", b.get("status"), a.get("status"))
        elif a["apiVersion"] == GROUP and kind == "TenantRegistry":
            same(a, "finalizers", None, a["metadata"].get("finalizers"))
            same(a, "labels", lb, la)
            # tenant-hooks' CRD (step 3) defaults fields v1.0's lacked; v1.0's values all stay.
            for m in missing(b["spec"], a["spec"]):
                fail(a, f"spec{m}")
            print(f"{ref(a)}: defaults added by tenant-hooks' CRD: {', '.join('spec' + p for p in added(b['spec'], a['spec'])) or 'none'}")
        elif ctl is not None and ctl["kind"] == "Tenant":
            same(a, "labels", dict(lb, **{"controller-uid": ctl["uid"]}), la)
            same(a, "annotations", b["metadata"].get("annotations"), a["metadata"].get("annotations"))
            same(a, "finalizers", b["metadata"].get("finalizers"), a["metadata"].get("finalizers"))
            same(a, "everything outside metadata and status", body(b), body(a))
        else:
            # The template, an object without owner: not written at all.
            same(a, "resourceVersion (untouched)", b["metadata"]["resourceVersion"], a["metadata"]["resourceVersion"])
    report(pairs, counts, "migrated as promised")


def cmd_rolledback(before_path, after_path):
    pairs = pair(before_path, after_path)
    counts = {}
    for b, a in pairs:
        common(b, a)
        kind = a["kind"]
        counts[kind] = counts.get(kind, 0) + 1
        lb, la = b["metadata"].get("labels", {}), a["metadata"].get("labels", {})
        if "controller-uid" in la:
            fail(a, "still labelled controller-uid")
        ctl = controller(b)
        if a["apiVersion"] == GROUP and kind == "Tenant":
            for k, v in lb.items():
                if la.get(k) != v:
                    fail(a, f"label {k} is {la.get(k)!r}, v1.0 set {v!r}")
            same(a, "finalizers", [V1_TENANT_FINALIZER], a["metadata"].get("finalizers"))
            want = dict(b["metadata"]["annotations"], **{"kubernetes-tenants.org/template-generation": "0"})
            same(a, "annotations (template-generation 0 makes v1.0 re-render the spec)", want, a["metadata"]["annotations"])
        elif a["apiVersion"] == GROUP and kind == "TenantRegistry":
            same(a, "finalizers", [V1_REGISTRY_FINALIZER], a["metadata"].get("finalizers"))
            for m in missing(b["spec"], a["spec"]):
                fail(a, f"spec{m}")
        elif ctl is not None and ctl["kind"] == "Tenant":
            same(a, "labels", lb, la)
            same(a, "annotations", b["metadata"].get("annotations"), a["metadata"].get("annotations"))
            same(a, "everything outside metadata and status", body(b), body(a))
        else:
            same(a, "resourceVersion (untouched)", b["metadata"]["resourceVersion"], a["metadata"]["resourceVersion"])
    report(pairs, counts, "back as v1.0 left them")


def report(pairs, counts, what):
    if FAILURES:
        for f in FAILURES:
            print("FAIL", f)
        sys.exit(1)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"{len(pairs)} objects ({kinds}) kept their uids and are {what}")


def cmd_versions(path):
    for o in sorted(load(path), key=lambda o: (o["kind"], o["metadata"]["name"])):
        print(f'{o["kind"]}/{o["metadata"]["name"]} {o["metadata"]["resourceVersion"]}')


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"creatable": cmd_creatable, "status": cmd_status, "migrated": cmd_migrated, "rolledback": cmd_rolledback,
     "versions": cmd_versions}[cmd](*args)
