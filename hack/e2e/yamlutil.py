#!/usr/bin/env python3
"""Small YAML/JSON helpers for run.sh (needs PyYAML).

  yamlutil.py docs FILE            one line per document: apiVersion<TAB>kind<TAB>namespace<TAB>name
                                   ("-" for a missing field; documents without apiVersion/kind print "-\t-\t-\t-")
  yamlutil.py subset WANT ACTUAL   every leaf of WANT (YAML, one or more documents) must be present and equal in
                                   ACTUAL (kubectl -o json: one object or a List); documents are matched by
                                   kind/namespace/name. Prints each missing or different path; exit 1 if any.
  yamlutil.py select WANT PATH     prints WANT's documents with only metadata and the top-level field PATH
                                   (e.g. status), as JSON lines: kind<TAB>name<TAB>namespace<TAB>json-of-field
"""
import json
import sys

import yaml


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def key(o):
    md = o.get("metadata") or {}
    return (o.get("kind"), md.get("namespace") or "", md.get("name"))


def cmd_docs(path):
    for d in load_all(path):
        if not isinstance(d, dict) or "apiVersion" not in d or "kind" not in d:
            print("-\t-\t-\t-")
            continue
        md = d.get("metadata") or {}
        print("\t".join([str(d["apiVersion"]), str(d["kind"]), md.get("namespace") or "-", md.get("name") or "-"]))


def diff(want, got, path, out):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            out.append(f"{path}: want an object, got {json.dumps(got)}")
            return
        for k, v in want.items():
            if k not in got:
                out.append(f"{path}.{k}: missing (pruned?)")
            else:
                diff(v, got[k], f"{path}.{k}", out)
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            out.append(f"{path}: want a list of {len(want)}, got {json.dumps(got)[:200]}")
            return
        for i, (w, g) in enumerate(zip(want, got)):
            diff(w, g, f"{path}[{i}]", out)
    elif want != got:
        out.append(f"{path}: want {json.dumps(want)}, got {json.dumps(got)}")


def cmd_subset(want_path, actual_path):
    with open(actual_path) as f:
        actual = json.load(f)
    items = actual.get("items", [actual]) if actual.get("kind", "").endswith("List") else [actual]
    by_key = {key(o): o for o in items}
    problems = []
    checked = 0
    for w in load_all(want_path):
        k = key(w)
        got = by_key.get(k)
        if got is None:
            problems.append(f"{k}: not found")
            continue
        out = []
        for field, value in w.items():
            if field in ("apiVersion", "kind"):
                continue
            if field not in got:
                out.append(f".{field}: missing (pruned?)")
            else:
                diff(value, got[field], f".{field}", out)
        problems += [f"{k[0]} {k[1] + '/' if k[1] else ''}{k[2]}: {p}" for p in out]
        checked += 1
    for p in problems:
        print(p)
    print(f"compared {checked} objects, {len(problems)} differences")
    return 1 if problems else 0


def cmd_select(want_path, field):
    for w in load_all(want_path):
        md = w.get("metadata") or {}
        print("\t".join([w["kind"], md.get("name", ""), md.get("namespace") or "-", json.dumps(w.get(field, {}))]))


def main(argv):
    if len(argv) >= 2 and argv[0] == "docs":
        for p in argv[1:]:
            cmd_docs(p)
        return 0
    if len(argv) == 3 and argv[0] == "subset":
        return cmd_subset(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "select":
        cmd_select(argv[1], argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
