"""The pydantic models of a form pack's declaration (see pack.py): what ``validate_data`` checks a
pack against. Imported only when a pack is validated."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field as PField, field_validator, model_validator

from xltool.form.model import Kind, Style

COLUMN = re.compile(r"^[A-Z]{1,3}$")
PACK_ID = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CellDecl(_Strict):
    """One cell of a row: a static text, or a field (``id`` given)."""

    text: str | None = None
    style: Style = Style.LABEL
    indent: int = PField(0, ge=0, le=15)
    to: str | None = None  # merge rightwards up to this column
    down: int | str | None = None  # merge downwards: n more rows, or through the row named so
    id: str | None = None
    label: str | None = None  # default: the row's first text
    kind: Kind | None = None
    role: Literal["input", "derived", "config"] | None = None
    unit: str | None = None  # default for amounts: 万元
    required: bool = False
    concept: str | None = None
    choices: list[str] | str | None = None  # a list, or the name of a [choices] set
    hint: str = ""
    bureau_fill: bool = False
    formula: str | None = None

    @field_validator("to")
    @classmethod
    def _column(cls, v: str | None) -> str | None:
        if v is not None and not COLUMN.match(v):
            raise ValueError("column")
        return v

    @model_validator(mode="after")
    def _text_or_field(self) -> "CellDecl":
        if self.id is None:
            if self.text is None:
                raise ValueError("text_or_id")
            if self.kind or self.formula or self.concept or self.label:
                raise ValueError("field_keys_without_id")
        else:
            if self.text is not None:
                raise ValueError("text_and_id")
            if self.kind is None:
                raise ValueError("kind")
            if self.formula is not None and self.role not in (None, "derived"):
                raise ValueError("formula_role")
            if self.role == "derived" and self.formula is None:
                raise ValueError("derived_formula")
        return self


class ValuesDecl(_Strict):
    """One amount per value column of the sheet (附件2: 上年决算数 / 本年预算数 / 本年决算数)."""

    id: str  # must contain {col}
    label: str
    skip: list[str] = []  # columns this row has no figure in (shown as ——)
    formula: str | None = None  # per column, {col} substituted
    concepts: dict[str, str] = {}  # column key → concept

    @field_validator("id")
    @classmethod
    def _has_col(cls, v: str) -> str:
        if "{col}" not in v:
            raise ValueError("values_id")
        return v


class RowDecl(_Strict):
    name: str | None = None
    list: str | None = None  # a list: this row repeated ``count`` times, {i} = 1..count
    indicators: bool = False  # the indicator tree: one row per 三级 row of every 二级
    count: int | None = PField(None, ge=1, le=200)
    level1: str | None = None  # indicators: column of the 一级 label
    level2: str | None = None  # indicators: column of the 二级 label
    height: float | None = PField(None, gt=0, le=400)
    freeze: str | None = None  # freeze panes above this row and left of this column
    print_titles: bool = False  # repeat this row on every printed page
    values: ValuesDecl | None = None
    cells: dict[str, CellDecl] = {}

    @model_validator(mode="before")
    @classmethod
    def _columns(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        cells: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and COLUMN.match(key):
                cells[key] = {"text": value} if isinstance(value, str) else value
            else:
                out[key] = value
        if cells:
            out["cells"] = cells
        return out

    @model_validator(mode="after")
    def _kinds(self) -> "RowDecl":
        if self.list and self.indicators:
            raise ValueError("list_and_indicators")
        if (self.list or self.indicators) and self.count is None:
            raise ValueError("count")
        if self.count is not None and not (self.list or self.indicators):
            raise ValueError("count_without_list")
        if self.indicators and not (self.level1 and self.level2):
            raise ValueError("levels")
        for col in (self.level1, self.level2, self.freeze):
            if col is not None and not COLUMN.match(col):
                raise ValueError("column")
        return self


class ColumnDecl(_Strict):
    key: str
    col: str
    label: str

    @field_validator("col")
    @classmethod
    def _column(cls, v: str) -> str:
        if not COLUMN.match(v):
            raise ValueError("column")
        return v


class SheetDecl(_Strict):
    key: str = PField(pattern=r"^[a-z][a-z0-9]{0,15}$")
    title: str = PField(min_length=1, max_length=31)
    widths: dict[str, float] = {}
    landscape: bool = False
    columns: list[ColumnDecl] = []  # value columns used by rows with ``values``
    row: list[RowDecl] = []


class IndicatorDecl(_Strict):
    key: str = PField(pattern=r"^[a-z][a-z0-9]{0,15}$")  # a weight of [scoring.weights]
    label: str
    # (二级 key, label) or (二级 key, label, rows): a 二级 may hold more 三级 rows than the
    # indicator row's ``count`` (real project tables list up to 25 under one 二级).
    children: list[tuple[str, str] | tuple[str, str, int]] = PField(min_length=1)

    @field_validator("children")
    @classmethod
    def _rows(cls, v: list) -> list:
        for child in v:
            if len(child) == 3 and not 1 <= child[2] <= 200:
                raise ValueError("child_rows")
        return v


class PackInfo(_Strict):
    id: str
    version: str = PField(pattern=r"^\d+(\.\d+)*$", max_length=20)
    name: str = PField(min_length=1, max_length=200)
    description: str = ""
    template_id: str = "xltool-jxzp"
    form_version: str = "1.0"
    level1_text: str = "{label}（{weight}分）"
    extends: str | None = PField(None, pattern=r"^[a-z][a-z0-9-]{1,40}@\d+(\.\d+)*$")  # merged in before validation

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not PACK_ID.match(v):
            raise ValueError("pack_id")
        return v


class PackFile(_Strict):
    pack: PackInfo
    scoring: dict[str, Any] = {}
    choices: dict[str, list[str]] = {}
    concepts: dict[str, str] = {}
    indicator: list[IndicatorDecl] = []
    sheet: list[SheetDecl] = PField(min_length=1)
