"""Cut the response schemas the fake Pipedrive serves out of Pipedrive's published OpenAPI specifications.

Pipedrive publishes https://developers.pipedrive.com/docs/api/v1/openapi.yaml (v1)
and .../openapi-v2.yaml (v2); the copies used were fetched from
github.com/juhokoskela/pipedrive-go (openapi/upstream/v1.yaml, v2.yaml, synced
from Pipedrive on 2026-08-18, commit da65610). Run:

    python tests/fake_crm/schemas/extract_pipedrive.py V1.yaml V2.yaml

to rewrite pipedrive-openapi-subset.json: for each GET the fake serves, the
200 response schema with every $ref resolved, OpenAPI's ``nullable`` turned
into JSON Schema (``type: [..., "null"]``), and the endpoint's ``x-token-cost``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import yaml

V2_PATHS = ["/deals", "/deals/archived", "/activities", "/organizations", "/persons", "/pipelines", "/stages",
            "/dealFields", "/organizationFields", "/personFields"]
V1_PATHS = ["/users"]
KEEP = {"type", "properties", "items", "allOf", "anyOf", "oneOf", "enum", "required", "additionalProperties", "nullable", "format",
        "title"}


def resolve(spec: dict, node):
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            return resolve(spec, copy.deepcopy(target))
        out = {}
        for k, v in node.items():
            if k in ("example", "examples", "description", "x-tool-description"):
                continue
            if k == "properties":
                out[k] = {name: resolve(spec, sub) for name, sub in v.items()}
            elif k in KEEP or k.startswith("x-"):
                out[k] = resolve(spec, v)
        return to_json_schema(out)
    if isinstance(node, list):
        return [resolve(spec, x) for x in node]
    return node


def to_json_schema(s: dict) -> dict:
    if s.pop("nullable", False):
        t = s.get("type")
        if isinstance(t, str):
            s["type"] = [t, "null"]
        elif "enum" in s:
            s["enum"] = list(s["enum"]) + [None]
        elif t is None and not any(k in s for k in ("allOf", "anyOf", "oneOf")):
            pass
        else:
            s = {"anyOf": [s, {"type": "null"}]}
    if s.get("format") == "date":  # informative only: jsonschema does not check it unless asked
        s.pop("format")
    return s


def extract(spec: dict, paths: list[str]) -> dict:
    out = {}
    for p in paths:
        op = spec["paths"][p]["get"]
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        out[p] = {"x-token-cost": op.get("x-token-cost"), "operationId": op.get("operationId"), "schema": resolve(spec, schema)}
    return out


def main(v1: str, v2: str) -> None:
    s1 = yaml.safe_load(Path(v1).read_text(encoding="utf-8"))
    s2 = yaml.safe_load(Path(v2).read_text(encoding="utf-8"))
    doc = {"source": "Pipedrive OpenAPI v1 1.0.0 / v2 2.0.0 via github.com/juhokoskela/pipedrive-go openapi/upstream (da65610, 2026-08-18)",
           "v1": extract(s1, V1_PATHS), "v2": extract(s2, V2_PATHS)}
    out = Path(__file__).with_name("pipedrive-openapi-subset.json")
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
