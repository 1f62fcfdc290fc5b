"""The one example schema that every dataset, translation, mixture and generation table follows."""

from __future__ import annotations

import polars as pl

from xlt.io import read_table

ROLES = ("system", "user", "assistant")
SPLITS = ("train", "validation", "test")
MESSAGE = pl.Struct({"role": pl.String, "content": pl.String})
EXAMPLE_SCHEMA = pl.Schema(
    {
        "id": pl.String,  # "{task}:{source_id}:{lang}"
        "source_id": pl.String,  # shared by every translation of one original item
        "task": pl.String,
        "lang": pl.String,  # ISO 639-1
        "split": pl.String,
        "messages": pl.List(MESSAGE),  # chat turns up to and including the reference answer
        "reference": pl.String,  # what scoring compares against
        "origin": pl.String,  # "native", "mt:<system>" or "synthetic"
    }
)


class SchemaError(ValueError):
    """A table does not follow the example schema."""


def example_id(task: str, source_id: str, lang: str) -> str:
    return f"{task}:{source_id}:{lang}"


def _valid(series: pl.Series) -> bool:
    import pyarrow as pa

    try:
        series.to_arrow().validate(full=True)  # checks UTF-8, nested values included
        return True
    except pa.ArrowInvalid:
        return False


def _first_invalid(strings: pl.Series) -> int | None:
    """Index of the first value of a string column that is not valid UTF-8 (bisecting on prefixes)."""
    if _valid(strings):
        return None
    low, high = 0, len(strings)  # invariant: the first `low` values are valid, the first `high` are not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if _valid(strings.head(middle)) else (low, middle)
    return low


def invalid_utf8(frame: pl.DataFrame) -> tuple[str, int] | None:
    """(column, row) of the first text that is not valid UTF-8, or None. Arrow data (``datasets``) can carry
    such bytes into polars unchecked; written to parquet, they make the file unreadable for every later stage.
    Nested columns (``messages``) are flattened to their strings, each keeping the row it came from."""
    for name in frame.columns:
        if _valid(frame[name]):  # the common case: one pass, no copy
            continue
        flat = frame.select(pl.int_range(pl.len()).alias("__row"), pl.col(name))
        while True:
            nested = [(column, dtype) for column, dtype in flat.schema.items() if dtype.is_nested()]
            if not nested:
                break
            column, dtype = nested[0]
            flat = flat.explode(column) if isinstance(dtype, (pl.List, pl.Array)) else flat.unnest(column)
        for column, dtype in flat.schema.items():
            if dtype == pl.String:
                index = _first_invalid(flat[column])
                if index is not None:
                    return name, int(flat["__row"][index])
    return None


def validate_examples(frame: pl.DataFrame, where: str, check_text: bool = True) -> pl.DataFrame:
    """Return ``frame`` with columns in schema order, or raise ``SchemaError`` naming ``where`` and the problem.
    ``check_text=False`` skips the UTF-8 pass, for frames that polars' parquet reader has validated already."""
    missing = [name for name in EXAMPLE_SCHEMA if name not in frame.columns]
    if missing:
        raise SchemaError(f"{where}: missing columns {missing} (expected {list(EXAMPLE_SCHEMA)})")
    frame = frame.select(list(EXAMPLE_SCHEMA))
    wrong = {
        name: str(frame.schema[name])
        for name, dtype in EXAMPLE_SCHEMA.items()
        if frame.schema[name] != dtype
    }
    if wrong:
        raise SchemaError(f"{where}: columns with wrong types {wrong}; expected {dict(EXAMPLE_SCHEMA)}")
    bad_text = invalid_utf8(frame) if check_text else None
    if bad_text:
        column, row = bad_text
        row_id = frame["id"][row] if column != "id" and invalid_utf8(frame.select("id")) is None else None
        raise SchemaError(f"{where}: text that is not valid UTF-8 in column {column!r}, row {row}"
                          + (f" (id {row_id!r})" if row_id else "") + "; fix or drop that row of the source data")
    nulls = [name for name in EXAMPLE_SCHEMA if frame[name].null_count()]
    if nulls:
        raise SchemaError(f"{where}: null values in columns {nulls}")
    duplicated = frame.filter(pl.col("id").is_duplicated())["id"].unique().sort()
    if len(duplicated):
        raise SchemaError(f"{where}: duplicate ids, e.g. {duplicated.head(3).to_list()}")
    bad_ids = frame.filter(
        pl.col("id") != pl.concat_str(["task", "source_id", "lang"], separator=":")
    )["id"]
    if len(bad_ids):
        raise SchemaError(f"{where}: ids not of the form task:source_id:lang, e.g. {bad_ids.head(3).to_list()}")
    bad_splits = sorted(set(frame["split"].unique()) - set(SPLITS))
    if bad_splits:
        raise SchemaError(f"{where}: unknown splits {bad_splits} (expected one of {list(SPLITS)})")
    bad_origin = frame.filter(
        ~pl.col("origin").is_in(["native", "synthetic"]) & ~pl.col("origin").str.starts_with("mt:")
    )["origin"]
    if len(bad_origin):
        raise SchemaError(f"{where}: unknown origins {sorted(set(bad_origin))} (native, synthetic or mt:<system>)")
    roles = frame.select(pl.col("messages").list.eval(pl.element().struct.field("role")).explode()).to_series()
    bad_roles = sorted(set(roles.drop_nulls()) - set(ROLES))
    if bad_roles:
        raise SchemaError(f"{where}: unknown message roles {bad_roles} (expected {list(ROLES)})")
    empty = frame.filter(pl.col("messages").list.len() == 0)["id"]
    if len(empty):
        raise SchemaError(f"{where}: rows without messages, e.g. {empty.head(3).to_list()}")
    return frame


def read_examples(path) -> pl.DataFrame:
    """Read and validate an example table; an unreadable file (text that is not UTF-8 included) is an error
    naming it."""
    return validate_examples(read_table(path), str(path), check_text=False)
