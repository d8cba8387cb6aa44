"""JSON Schema payloads: JSON text, checked against its schema so a payload that does not match is
shown with the reason (its value is still shown: it is readable JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson


class SchemaMismatch(ValueError):
    """Valid JSON that its schema refuses; carries the value so it can still be shown."""

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.value = value


def json_schema_reader(schema_text: str) -> tuple[Callable[[bytes], Any], str | None]:
    """A function reading one JSON payload and checking it, and the schema's title."""
    import jsonschema  # type: ignore[import-untyped]

    schema = orjson.loads(schema_text)
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)

    def read(data: bytes) -> Any:
        value = orjson.loads(data)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            raise SchemaMismatch(value, f"does not match its schema{' at ' + where if where else ''}: {error.message}")
        return value

    title = schema.get("title") if isinstance(schema, dict) else None
    return read, title if isinstance(title, str) else None
