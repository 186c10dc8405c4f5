"""schema.hcl, the SQLAlchemy tables and a migrated database (SQLite and PostgreSQL) describe one schema."""

from __future__ import annotations

import dataclasses
from typing import Any

import hcl2
import pytest
from sqlalchemy import BigInteger, Boolean, Integer, inspect

from opensqt.model import Slot
from opensqt.store import migrate
from opensqt.store.engine import create_store_engine
from opensqt.store.tables import metadata
from tests.conftest import ROOT

# table -> (columns {name: (type, nullable)}, primary key, indexes {name: (unique, columns)},
#           foreign keys {column: table.column})
Shape = tuple[
    dict[str, tuple[str, bool]], tuple[str, ...], dict[str, tuple[bool, tuple[str, ...]]], dict[str, str]
]


def _unquote(key: str) -> str:
    return key.strip('"')


def _ref(expr: str) -> str:
    # python-hcl2 renders references as "${column.x}" / "${table.bots.column.name}".
    return expr.removeprefix("${").removesuffix("}")


def hcl_shape() -> dict[str, Shape]:
    with (ROOT / "schema.hcl").open() as fh:
        doc = hcl2.load(fh)
    assert [_unquote(k) for s in doc["schema"] for k in s] == ["main"]
    shape: dict[str, Shape] = {}
    for block in doc["table"]:
        for raw_name, body in block.items():
            assert _ref(body["schema"]) == "schema.main"
            columns = {}
            for col in body["column"]:
                for cname, cbody in col.items():
                    columns[_unquote(cname)] = (cbody["type"], bool(cbody["null"]))
            (pk,) = body["primary_key"]
            pk_cols = tuple(_ref(c).removeprefix("column.") for c in pk["columns"])
            indexes = {}
            for ix in body.get("index", []):
                for iname, ibody in ix.items():
                    cols = tuple(_ref(c).removeprefix("column.") for c in ibody["columns"])
                    indexes[_unquote(iname)] = (bool(ibody.get("unique", False)), cols)
            fks = {}
            for fk in body.get("foreign_key", []):
                for _fname, fbody in fk.items():
                    (col,) = fbody["columns"]
                    (ref,) = fbody["ref_columns"]
                    table_ref = _ref(ref).removeprefix("table.").replace(".column.", ".")
                    fks[_ref(col).removeprefix("column.")] = table_ref
            shape[_unquote(raw_name)] = (columns, pk_cols, indexes, fks)
    return shape


def _type_name(t: Any) -> str:
    if isinstance(t, BigInteger):
        return "bigint"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, Boolean):
        return "boolean"
    return "text"


def metadata_shape() -> dict[str, Shape]:
    shape: dict[str, Shape] = {}
    for table in metadata.sorted_tables:
        columns = {c.name: (_type_name(c.type), bool(c.nullable)) for c in table.columns}
        pk = tuple(c.name for c in table.primary_key.columns)
        indexes = {ix.name: (bool(ix.unique), tuple(c.name for c in ix.columns)) for ix in table.indexes}
        fks = {
            fk.parent.name: f"{fk.column.table.name}.{fk.column.name}"
            for c in table.foreign_key_constraints
            for fk in c.elements
        }
        shape[table.name] = (columns, pk, indexes, fks)  # type: ignore[assignment]
    return shape


def database_shape(url: str) -> dict[str, Shape]:
    engine = create_store_engine(url)
    try:
        insp = inspect(engine)
        shape: dict[str, Shape] = {}
        for name in insp.get_table_names():
            if name == "atlas_schema_revisions":
                continue
            columns = {
                c["name"]: (str(c["type"]).lower(), bool(c["nullable"])) for c in insp.get_columns(name)
            }
            pk = tuple(insp.get_pk_constraint(name)["constrained_columns"])
            indexes = {
                ix["name"]: (bool(ix["unique"]), tuple(str(c) for c in ix["column_names"]))
                for ix in insp.get_indexes(name)
                if ix["name"] is not None
            }
            fks = {
                fk["constrained_columns"][0]: f"{fk['referred_table']}.{fk['referred_columns'][0]}"
                for fk in insp.get_foreign_keys(name)
            }
            shape[name] = (columns, pk, indexes, fks)
        return shape
    finally:
        engine.dispose()


def test_schema_hcl_equals_the_sqlalchemy_tables() -> None:
    hcl, meta = hcl_shape(), metadata_shape()
    assert sorted(hcl) == sorted(meta)
    for name in hcl:
        assert hcl[name] == meta[name], name


def test_the_expected_tables_exist() -> None:
    assert sorted(hcl_shape()) == [
        "arbitrage_legs",
        "audit_log",
        "bots",
        "fills",
        "orders",
        "pnl_history",
        "positions",
        "processed_updates",
        "slots",
        "workflows",
    ]


def test_slots_table_stores_every_slot_field() -> None:
    columns = set(hcl_shape()["slots"][0])
    assert {f.name for f in dataclasses.fields(Slot)} | {"bot", "symbol"} == columns


def _check_database(url: str) -> None:
    assert migrate(url) == ["20261130000001"]
    db, hcl = database_shape(url), hcl_shape()
    assert sorted(db) == sorted(hcl)
    for name in hcl:
        assert db[name] == hcl[name], name


def test_migrating_a_fresh_sqlite_file_gives_the_schema_of_schema_hcl(sqlite_url: str) -> None:
    _check_database(sqlite_url)


@pytest.mark.real_part
def test_migrating_a_fresh_postgres_database_gives_the_schema_of_schema_hcl(postgres_url: str) -> None:
    _check_database(postgres_url)
