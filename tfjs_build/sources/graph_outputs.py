"""The likely output nodes of a frozen GraphDef (.pb): the nodes whose value no other node reads. No TensorFlow.

``init`` proposes them for a frozen graph's ``outputs:``. The protobuf wire format is read
directly, only as far as needed: GraphDef field 1 is ``node`` (NodeDef), and a NodeDef's
fields 1, 2 and 3 are its ``name``, ``op`` and ``input`` strings; everything else (attrs
holding the weights, the function library) is skipped by its length. A control edge (``^name``)
reads no value, so it does not stop a node from being an output. A file that does not
parse gives no proposal, never a wrong one silently: the caller writes CHANGE_ME.
"""

from __future__ import annotations

from pathlib import Path

NOT_OUTPUTS = {"NoOp", "Placeholder", "PlaceholderWithDefault", "Const", "Assert", "SaveV2", "RestoreV2"}


def proposed_outputs(path: Path) -> list[str]:
    """Names of the nodes nothing reads (sorted), or [] when the file is not a GraphDef we can read."""
    try:
        nodes = [_node(value) for number, value in _fields(path.read_bytes()) if number == 1]
    except (ValueError, IndexError, UnicodeDecodeError, OSError):
        return []
    read = {name.split(":")[0] for _, _, inputs in nodes for name in inputs if not name.startswith("^")}  # data edges
    return sorted(name for name, op, _ in nodes if name and name not in read and op not in NOT_OUTPUTS)


def _node(data: bytes | int) -> tuple[str, str, list[str]]:
    if not isinstance(data, bytes):
        raise ValueError("a GraphDef node that is not length-delimited")
    name, op, inputs = "", "", []
    for number, value in _fields(data):
        if number not in (1, 2, 3):
            continue
        if not isinstance(value, bytes):
            raise ValueError("a NodeDef string field that is not length-delimited")
        if number == 1:
            name = value.decode("utf-8")
        elif number == 2:
            op = value.decode("utf-8")
        else:
            inputs.append(value.decode("utf-8"))
    return name, op, inputs


def _fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """(field number, value) of one message: varints as int, length-delimited fields as bytes."""
    fields: list[tuple[int, bytes | int]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            fields.append((number, value))
        elif wire == 2:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise ValueError("a field runs past the end of the message")
            fields.append((number, data[position:position + length]))
            position += length
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire} is not in a GraphDef")
    return fields


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise ValueError("a varint longer than 10 bytes")
