"""The served OpenAPI document as a checker: is a value valid against one of its schemas?"""

from __future__ import annotations

from typing import Any

import jsonschema_rs


def check(document: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    """Fail with the first reason `value` is not valid against `schema` (whose references point into
    `document`)."""
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    errors = [f"{'/'.join(map(str, e.instance_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(value)]
    assert not errors, (schema, value, errors)


def check_named(document: dict[str, Any], name: str, value: Any) -> None:
    """Fail unless `value` is valid against components/schemas/<name>."""
    assert name in document["components"]["schemas"], name
    check(document, {"$ref": f"#/components/schemas/{name}"}, value)
