"""Small builders of the OpenAPI document's parts: schemas, answers and operations."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


# --- small builders -----------------------------------------------------------------------------

def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str] | None = None, /, **props: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def string(*enum: str, **extra: Any) -> Schema:
    return {"type": "string", **({"enum": list(enum)} if enum else {}), **extra}


def nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def integer(**extra: Any) -> Schema:
    return {"type": "integer", **extra}


BOOL: Schema = {"type": "boolean"}
TIME: Schema = nullable(string(format="date-time"))


def json_content(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def ok(status: str, description: str, schema: Schema | None = None) -> Schema:
    answer: Schema = {"description": description}
    if schema is not None:
        answer.update(json_content(schema))
    return {status: answer}


def errors(*statuses: int) -> Schema:
    """Error answers: always 401 (no or bad token), 429 (too many wrong tokens) and 503 (the
    database is not answering), plus the ones named."""
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in sorted({401, 429, 503, *statuses})}


def op(summary: str, scope: str, responses: Schema, *, params: list[Schema] | None = None,
       body: Schema | None = None, tag: str = "repos", notes: str = "") -> Schema:
    operation: Schema = {"summary": summary, "tags": [tag], "responses": responses,
                         "description": f"Needs a token with scope `{scope}`. {notes}".strip()}
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {"required": True, **json_content(body)}
        operation["responses"].setdefault("400", {"$ref": "#/components/responses/E400"})
        operation["responses"].setdefault("413", {"$ref": "#/components/responses/E413"})
    return operation


def path_param(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": string()}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
