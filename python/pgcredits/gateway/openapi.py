"""`GET /openapi.json`: an OpenAPI 3.0 document built from the catalog (signatures and COMMENT ON FUNCTION)."""

from __future__ import annotations

from typing import Any

from pgcredits.gateway.catalog import Argument, Catalog, Column, Function

ERROR_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "string", "nullable": True} for name in ("code", "message", "details", "hint")},
    "required": ["code", "message", "details", "hint"],
}
ERROR_STATUSES = {
    "400": "Malformed JSON, an unknown or missing parameter, a value of the wrong type (SQLSTATE class 22)",
    "401": "No token, an invalid or expired one, or a role outside the four",
    "403": "The caller's role may not do this (42501)",
    "404": "Unknown account, feature, plan, credit type, grant, hold or transaction (PT404)",
    "409": "Idempotency key reused with other arguments; refund beyond what was charged (PT409)",
    "413": "A body over 1 MB (GW413)",
    "422": "Invalid argument (PT422)",
    "503": "Serialization failure or deadlock after retries, or the database is unreachable; see Retry-After",
    "504": "The call ran longer than the caller role's statement_timeout and was rolled back (57014)",
}
EVENTS_ERRORS = {
    "401": "No token, an invalid or expired one, or a role outside the four",
    "403": "The token has no sub claim: events are per account",
    "429": "The token's subject already has PGCREDITS_STREAMS_PER_SUBJECT open streams (GW429)",
    "503": "The database is unreachable; see Retry-After",
}
_PG_FORMATS = {"bigint": "int64", "integer": "int32", "smallint": "int32", "timestamp with time zone": "date-time",
               "date": "date", "numeric": "decimal"}


def build_openapi(catalog: Catalog, *, title: str = "pgcredits gateway", version: str = "1") -> dict[str, Any]:
    """The OpenAPI document of every callable function, plus /events and the health endpoints."""
    paths: dict[str, Any] = {}
    for name in sorted(catalog.functions):
        function = catalog.functions[name]
        paths[f"/rpc/{name}"] = _rpc_path(function)
    paths["/events"] = {"get": {
        "summary": "Server-Sent Events of the caller's own account (the token's sub)",
        "description": "Each event: `id` (credits.events.event_id), `event` (its kind), `data` (the row of "
                       "credits.events as the caller may read it). `event: resync` after the gateway lost "
                       "notifications: re-read the balance.",
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "A text/event-stream, until the token expires",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      **{status: {"description": text,
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                         for status, text in EVENTS_ERRORS.items()}},
    }}
    for path, summary in (("/live", "The process answers"), ("/ready", "The database is reachable"),
                          ("/metrics", "Prometheus metrics")):
        paths[path] = {"get": {"summary": summary, "security": [], "responses": {"200": {"description": "OK"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version,
                 "description": "The functions of schema credits, called under the caller's own role (SPEC §5)."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"bearer": []}],
    }


def _rpc_path(function: Function) -> dict[str, Any]:
    roles = ", ".join(sorted(function.roles)) or "no caller role"
    common = {
        "summary": (function.comment or function.name).split(". ")[0],
        "description": f"{function.comment or ''}\n\nMay be called by: {roles}.".strip(),
        "tags": ["read-only" if function.read_only else "changes data"],
        "responses": {
            "200": {"description": function.return_type,
                    "content": {"application/json": {"schema": _result_schema(function)}}},
            **{status: {"description": text,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
               for status, text in ERROR_STATUSES.items()},
        },
    }
    operations: dict[str, Any] = {"post": {
        **common,
        "operationId": function.name,
        "requestBody": {"required": bool(function.arguments) and any(a.required for a in function.arguments),
                        "content": {"application/json": {"schema": _arguments_schema(function)}}},
    }}
    if function.argument("idempotency_key") is not None:
        operations["post"]["parameters"] = [{
            "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "Fills idempotency_key when the body has none",
        }]
    if function.read_only:
        operations["get"] = {
            **common,
            "operationId": f"{function.name}_get",
            "parameters": [{"name": arg.name, "in": "query", "required": arg.required,
                            "schema": {"type": "string"}, "description": arg.type} for arg in function.arguments],
        }
    return operations


def _arguments_schema(function: Function) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {arg.name: _argument_schema(arg) for arg in function.arguments},
        "required": [arg.name for arg in function.arguments if arg.required],
    }


def _argument_schema(arg: Argument) -> dict[str, Any]:
    kind = arg.json_kind()
    schema: dict[str, Any] = {"description": arg.type + (f", default {arg.default}" if arg.default else "")}
    if kind == "number":
        schema["oneOf"] = [{"type": "number"}, {"type": "string", "format": "decimal"}]
    elif kind != "any":
        schema["type"] = kind
    if arg.type in _PG_FORMATS and kind != "number":
        schema["format"] = _PG_FORMATS[arg.type]
    schema["nullable"] = True
    return schema


def _column_schema(column: Column) -> dict[str, Any]:
    return _argument_schema(Argument(column.name, column.type, None)) | {"description": column.type}


def _result_schema(function: Function) -> dict[str, Any]:
    if function.returns_row or function.columns:
        row = {"type": "object", "properties": {c.name: _column_schema(c) for c in function.columns}}
    else:
        row = _column_schema(Column(function.name, function.return_type))
    return {"type": "array", "items": row} if function.returns_set else row
