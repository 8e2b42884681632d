"""Writes a copy of the served OpenAPI document in which the Table API is
documented per table, with request bodies made of the table's own columns.

The served document has one `/api/now/table/{table}` path whose body is any
object: a fuzzer then writes random keys to a random table, which the server
ignores, and rarely reaches the column rules. Per table, it writes the
table's columns with values of every type the server accepts (and, in its
negative mode, of types it does not), which is how fuzzing found
`PUT sys_user {"locked_out": null}` failing a NOT NULL constraint.

Usage: per_table.py URL USER PASSWORD OUTPUT
"""

import base64
import copy
import json
import sys
import urllib.request

# The system fields a client may send and the server ignores (sys_id is
# the one it reads: a POST may choose it).
IGNORED = {"sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count"}


def column_schema(schema):
    """What the server accepts for a column, from its documented schema
    (`http::openapi::column_schema`): strings for every type, numbers and
    booleans where `domain::records::coerce` reads them, null to clear."""
    if "enum" in schema:
        return {"enum": schema["enum"] + ["", None]}
    if "oneOf" in schema:
        # A reference: a sys_id, or the {link, value} object the server
        # shows, of which a write reads `value` only.
        return {
            "oneOf": [
                {"type": ["string", "number", "boolean", "null"]},
                {"type": "object", "properties": {"value": {"type": "string"}}},
            ]
        }
    kind = schema.get("description")
    if kind == "integer":
        return {"type": ["integer", "string", "null"]}
    if kind == "boolean":
        # `coerce` also takes the numbers 1 and 0, as ServiceNow's records do.
        return {"anyOf": [{"type": ["boolean", "string", "null"]}, {"enum": [0, 1]}]}
    if kind == "decimal":
        return {"type": ["number", "string", "null"]}
    return {"type": ["string", "number", "boolean", "null"]}


def body_schema(table_schema):
    properties = {}
    for name, schema in table_schema["properties"].items():
        if name in IGNORED:
            properties[name] = {}
        elif name == "sys_id":
            properties[name] = {"type": ["string", "null"]}
        else:
            properties[name] = column_schema(schema)
    return {"type": "object", "properties": properties}


def main():
    url, user, password, output = sys.argv[1:5]
    request = urllib.request.Request(url)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        document = json.load(answer)

    paths = document["paths"]
    collection = paths.pop("/api/now/table/{table}")
    record = paths.pop("/api/now/table/{table}/{sys_id}")
    schemas = document["components"]["schemas"]
    table_parameter = next(p for p in collection["get"]["parameters"] if p["name"] == "table")
    for table in table_parameter["schema"]["enum"]:
        for template, path in (
            (collection, f"/api/now/table/{table}"),
            (record, f"/api/now/table/{table}/{{sys_id}}"),
        ):
            operations = copy.deepcopy(template)
            for operation in operations.values():
                operation["parameters"] = [
                    p for p in operation.get("parameters", []) if p["name"] != "table"
                ]
                if "requestBody" in operation:
                    operation["requestBody"] = {
                        "content": {"application/json": {"schema": body_schema(schemas[table])}}
                    }
            paths[path] = operations
    # Only the Table API: the other families were fuzzed from the served
    # document itself.
    document["paths"] = {p: ops for p, ops in paths.items() if p.startswith("/api/now/table/")}
    with open(output, "w") as out:
        json.dump(document, out)


if __name__ == "__main__":
    main()
