"""Protobuf payloads decoded dynamically: no generated classes, only the schema the registry (or a
local `.proto` or descriptor set) gives, built into a descriptor pool once per schema.

The registry answers Protobuf schemas as a base64 `FileDescriptorProto` when asked with
`format=serialized` (confluent-kafka's serializers register them that way too); a registry that
answers `.proto` text gets it compiled here like a local file. A framed payload names its message
type by the message-index list (`wire.message_indexes`).
"""

from __future__ import annotations

import base64
import binascii
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from mqtui.services.decoding.wire import WireError, message_indexes

# protobuf ships no type information: its descriptors are Any here, under names that say what they are.
Descriptor: TypeAlias = Any
DescriptorProto: TypeAlias = Any
FileDescriptorProto: TypeAlias = Any
FileDescriptorSet: TypeAlias = Any
DescriptorPool: TypeAlias = Any


def new_pool() -> DescriptorPool:
    """A pool that already knows the well-known types (Timestamp, Any, ...) schemas import."""
    from confluent_kafka.schema_registry.common.protobuf import _init_pool
    from google.protobuf.descriptor_pool import DescriptorPool  # type: ignore[import-untyped]

    pool = DescriptorPool()
    _init_pool(pool)
    return pool


def file_proto(name: str, schema_text: str) -> FileDescriptorProto:
    """A registry's Protobuf schema as a FileDescriptorProto: base64 serialized, or `.proto` text."""
    from google.protobuf.descriptor_pb2 import FileDescriptorProto  # type: ignore[import-untyped]

    proto = FileDescriptorProto()
    try:
        proto.ParseFromString(base64.b64decode(schema_text, validate=True))
    except (binascii.Error, ValueError, Exception):  # not base64, or not a descriptor: .proto text
        files = compile_proto_text(name, schema_text)
        return files.file[-1]
    if not proto.name:
        proto.name = name
    return proto


def compile_proto_text(name: str, text: str) -> FileDescriptorSet:
    """`.proto` text compiled by grpcio-tools' protoc into a descriptor set (its imports included)."""
    with tempfile.TemporaryDirectory(prefix="mqtui-proto-") as folder:
        path = Path(folder) / (name if name.endswith(".proto") else f"{name}.proto")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return compile_proto_file(path, [Path(folder)])


def compile_proto_file(path: Path, include: list[Path]) -> FileDescriptorSet:
    """A `.proto` file compiled in a child process (protoc keeps global state; a bad file must not
    take mqtui with it), to a descriptor set with every import, the last file being `path`'s."""
    from google.protobuf.descriptor_pb2 import FileDescriptorSet

    with tempfile.TemporaryDirectory(prefix="mqtui-protoc-") as folder:
        out = Path(folder) / "set.pb"
        args = [sys.executable, "-m", "grpc_tools.protoc", f"--descriptor_set_out={out}", "--include_imports"]
        args += [f"-I{p}" for p in [*include, path.parent]] + [str(path)]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["protoc failed"])[-1]
            raise ValueError(f"cannot compile {path.name}: {reason}")
        files = FileDescriptorSet()
        files.ParseFromString(out.read_bytes())
        return files


def add_files(pool: DescriptorPool, files: list[FileDescriptorProto]) -> None:
    """Add files to a pool, skipping those it already has (well-known types a set also carries)."""
    for proto in files:
        try:
            pool.FindFileByName(proto.name)
        except KeyError:
            pool.Add(proto)


def _by_indexes(proto: FileDescriptorProto, indexes: list[int]) -> str:
    """The full name of the message type the index list points at (top level first, then nested)."""
    names: list[str] = []
    level: Any = proto.message_type
    for index in indexes:
        if index >= len(level):
            raise WireError(f"message index {index} is not in the schema")
        message: DescriptorProto = level[index]
        names.append(message.name)
        level = message.nested_type
    return ".".join([proto.package, *names] if proto.package else names)


def to_tree(message: Any) -> Any:
    from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]

    return MessageToDict(message, preserving_proto_field_name=True)


def framed_reader(
    pool: DescriptorPool, proto: FileDescriptorProto
) -> tuple[Callable[[bytes], Any], Callable[[bytes], str]]:
    """A reader of registry-framed payloads (after the 5-byte header: index list, then the message)
    and a function naming the message type a payload holds. Classes are made once per index list."""
    from google.protobuf.message_factory import GetMessageClass  # type: ignore[import-untyped]

    classes: dict[tuple[int, ...], tuple[Any, str]] = {}

    def typed(data: bytes) -> tuple[Any, str, int]:
        indexes, start = message_indexes(data)
        known = classes.get(tuple(indexes))
        if known is None:
            name = _by_indexes(proto, indexes)
            known = classes[tuple(indexes)] = (GetMessageClass(pool.FindMessageTypeByName(name)), name)
        return known[0], known[1], start

    def read(data: bytes) -> Any:
        cls, _, start = typed(data)
        return to_tree(cls.FromString(data[start:]))

    return read, lambda data: typed(data)[1]


def message_reader(descriptor: Descriptor) -> Callable[[bytes], Any]:
    """A reader of bare payloads of one message type (local schemas: no framing, no index list)."""
    from google.protobuf.message_factory import GetMessageClass

    cls = GetMessageClass(descriptor)
    return lambda data: to_tree(cls.FromString(data))


def first_message_class(pool: DescriptorPool, proto: FileDescriptorProto) -> Any:
    """The class of a file's first message type (what `publish --schema` encodes JSON into)."""
    from google.protobuf.message_factory import GetMessageClass

    return GetMessageClass(pool.FindMessageTypeByName(_by_indexes(proto, [0])))


def from_tree(tree: Any, cls: Any) -> Any:
    """A JSON tree parsed into a message of `cls` (unknown fields refused)."""
    from google.protobuf.json_format import ParseDict

    return ParseDict(tree, cls())
