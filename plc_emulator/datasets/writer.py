"""Streaming table sinks: Parquet (zstd, one row group per flush) and CSV, both through pyarrow.

A sink never holds more than the batch it is given; the caller bounds the batch size, so memory
does not grow with the length of the run or the number of row groups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["CsvSink", "ParquetSink", "TableSink", "open_sink", "write_table"]


class TableSink(Protocol):
    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class ParquetSink:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._w = pq.ParquetWriter(str(path), schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        self._w.write_table(table, row_group_size=max(1, table.num_rows))

    def close(self) -> None:
        self._w.close()


def _csv_type(t: pa.DataType) -> pa.DataType:
    return pa.string() if pa.types.is_dictionary(t) else t


class CsvSink:
    """CSV with a header row; category columns are written as their labels."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._schema = pa.schema([pa.field(f.name, _csv_type(f.type)) for f in schema])
        self._w = pacsv.CSVWriter(str(path), self._schema)

    def write(self, table: pa.Table) -> None:
        self._w.write_table(table.cast(self._schema))

    def close(self) -> None:
        self._w.close()


def open_sink(path: Path, schema: pa.Schema) -> TableSink:
    """A Parquet sink for ``*.parquet``, a CSV sink otherwise."""
    return ParquetSink(path, schema) if path.suffix == ".parquet" else CsvSink(path, schema)


def write_table(path: Path, columns: dict[str, Any], schema: pa.Schema) -> None:
    """A small table in one go (the events table)."""
    sink = open_sink(path, schema)
    try:
        sink.write(pa.table(columns, schema=schema))
    finally:
        sink.close()
