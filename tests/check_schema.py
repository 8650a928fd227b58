#!/usr/bin/env python3
"""scenarios/schema.json and slotlab's own validation (harness/scenario.cpp) agree.

usage: check_schema.py SLOTLAB_BINARY SOURCE_DIR

1. Every scenarios/*.json file is valid under the schema (the C++ tests load each with the parser).
2. Every case of tests/scenarios/bad-scenarios.json is refused by `slotlab run` with exit status 2
   and a message naming the JSON path given in the case, and the schema refuses it with an error
   at that same path -- unless the case is marked "schema": false (a rule a JSON Schema cannot
   express: n9 in a 6-node topology, a value CONFIG SET would refuse, a workload name reused).

The validator below implements the subset of JSON Schema 2020-12 that schema.json uses: type,
const, enum, minimum, maximum, minItems, items, properties, required, additionalProperties,
propertyNames, pattern, anyOf (reporting the errors of the one alternative whose type fits, if
there is one), oneOf (a oneOf whose members all fix "do" with a const is chosen
by the instance's "do", so errors come from the member the file meant), and local $ref.
"""
import json
import os
import re
import subprocess
import sys
import tempfile


class Validator:
    def __init__(self, schema):
        self.root = schema

    def resolve(self, ref):
        assert ref.startswith("#/"), ref
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    @staticmethod
    def type_ok(value, t):
        if t == "object":
            return isinstance(value, dict)
        if t == "array":
            return isinstance(value, list)
        if t == "string":
            return isinstance(value, str)
        if t == "boolean":
            return isinstance(value, bool)
        if t == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if t == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if t == "null":
            return value is None
        raise ValueError("unsupported type " + t)

    def errors(self, schema, value, path="$"):
        """Every error as (path, message)."""
        out = []
        if "$ref" in schema:
            out += self.errors(self.resolve(schema["$ref"]), value, path)
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(self.type_ok(value, t) for t in types):
                return out + [(path, "expected %s, got %s" % (" or ".join(types), json.dumps(value)))]
        if "const" in schema and value != schema["const"]:
            out.append((path, "expected %s" % json.dumps(schema["const"])))
        if "enum" in schema and value not in schema["enum"]:
            out.append((path, "expected one of %s, got %s" % (schema["enum"], json.dumps(value))))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                out.append((path, "expected >= %s, got %s" % (schema["minimum"], value)))
            if "maximum" in schema and value > schema["maximum"]:
                out.append((path, "expected <= %s, got %s" % (schema["maximum"], value)))
        if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
            out.append((path, "does not match %s" % schema["pattern"]))
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                out.append((path, "expected at least %d items" % schema["minItems"]))
            if "items" in schema:
                for i, item in enumerate(value):
                    out += self.errors(schema["items"], item, "%s[%d]" % (path, i))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    out.append(("%s.%s" % (path, key), "missing"))
            for key, item in value.items():
                sub = "%s.%s" % (path, key)
                if "propertyNames" in schema:
                    out += [(sub, m) for _, m in self.errors(schema["propertyNames"], key, sub)]
                if key in props:
                    out += self.errors(props[key], item, sub)
                elif schema.get("additionalProperties") is False:
                    out.append((sub, "unknown field"))
                elif isinstance(schema.get("additionalProperties"), dict):
                    out += self.errors(schema["additionalProperties"], item, sub)
        if "anyOf" in schema:
            alts = [self.errors(s, value, path) for s in schema["anyOf"]]
            if all(alts):
                # The best match: the one alternative whose errors are all deeper than this value
                # (its type fits; something inside does not), else the value itself is wrong.
                deeper = [a for a in alts if all(p != path for p, _ in a)]
                out += deeper[0] if len(deeper) == 1 else [(path, "matches none of the alternatives")]
        if "oneOf" in schema:
            members = schema["oneOf"]
            tags = [m.get("properties", {}).get("do", {}).get("const") for m in members]
            if all(t is not None for t in tags) and isinstance(value, dict):
                if value.get("do") in tags:
                    out += self.errors(members[tags.index(value["do"])], value, path)
                elif "do" in value:
                    out.append((path + ".do", "unknown action %s" % json.dumps(value["do"])))
            else:
                ok = [m for m in members if not self.errors(m, value, path)]
                if len(ok) != 1:
                    out.append((path, "matches %d of the oneOf members, expected exactly one" % len(ok)))
        return out


def concrete(doc):
    """The document as slotlab validates it: "$name" strings replaced by the nominal value of the
    parameter (its min, or its first choice; harness/params.hpp), "$$x" by "$x", "params" removed."""
    if not isinstance(doc, dict) or "params" not in doc:
        return doc
    values = {name: (spec["choices"][0] if "choices" in spec else spec.get("min", 0)) for name, spec in doc["params"].items()}

    def sub(v):
        if isinstance(v, str) and v.startswith("$$"):
            return v[1:]
        if isinstance(v, str) and v.startswith("$") and v[1:] in values:
            return values[v[1:]]
        if isinstance(v, list):
            return [sub(x) for x in v]
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v
    params_schema_errors = Validator(SCHEMA).errors(SCHEMA["properties"]["params"], doc["params"], "$.params")
    assert not params_schema_errors, params_schema_errors
    return sub({k: v for k, v in doc.items() if k != "params"})


SCHEMA = None


def main():
    slotlab, src = sys.argv[1], sys.argv[2]
    global SCHEMA
    schema = SCHEMA = json.load(open(os.path.join(src, "scenarios", "schema.json")))
    v = Validator(schema)
    failures = 0
    scen_dir = os.path.join(src, "scenarios")
    files = sorted(f for f in os.listdir(scen_dir) if f.endswith(".json") and f != "schema.json")
    assert len(files) >= 15, files
    for f in files:
        errs = v.errors(schema, concrete(json.load(open(os.path.join(scen_dir, f)))))
        if errs:
            failures += 1
            print("%s: the schema refuses a library scenario: %s" % (f, errs[:3]))
    cases = json.load(open(os.path.join(src, "tests", "scenarios", "bad-scenarios.json")))
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases):
            path = os.path.join(tmp, "case%d.json" % i)
            with open(path, "w") as fh:
                json.dump(case["scenario"], fh)
            proc = subprocess.run([slotlab, "run", path, "--seed", "1"], capture_output=True, text=True, timeout=120)
            msg = proc.stderr.strip()
            want = "slotlab: bad scenario: %s: %s" % (path, case["error"])
            if proc.returncode != 2 or not msg.startswith(want):
                failures += 1
                print("case %d (%s): slotlab exit %d, %r; expected exit 2 and %r" % (i, case["why"], proc.returncode, msg, want))
            err_path = case["error"].split(": ")[0]
            schema_paths = [p for p, _ in v.errors(schema, case["scenario"])]
            if case.get("schema", True):
                if err_path not in schema_paths:
                    failures += 1
                    print("case %d (%s): the schema does not refuse %s (its errors: %s)" % (i, case["why"], err_path, schema_paths))
            elif schema_paths:
                failures += 1
                print("case %d (%s) is marked schema: false but the schema refuses it at %s" % (i, case["why"], schema_paths))
    print("%d scenario files valid, %d bad cases checked, %d failures" % (len(files), len(cases), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
