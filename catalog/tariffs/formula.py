"""Tariff formulas: parsed and checked once when the catalog loads, evaluated safely with ``simpleeval``.

A formula is one expression, written by an admin in a tariff file: numbers, names (the fee's inputs, the
book's parameters, lines above it and ``year``), ``+ - * / // % **``, comparisons, ``and``/``or``/``not``,
``a if condition else b``, and the functions in ``FUNCTIONS``. Nothing else parses: no attributes, no
indexing, no lambdas, no comprehensions. Python's ``eval`` is never used; ``simpleeval`` walks the parsed
tree with only the node kinds, operators and functions allowed here, and every number is a ``Decimal``.

``compile_formula`` finds syntax errors and forbidden constructs; ``check_formula`` finds unknown names and
functions, wrong arguments and table look-ups that cannot work (unknown table or column, ``lookup`` on a
table with ranges, a missing key), all before any citizen types a figure.
"""

from __future__ import annotations

import ast
import decimal
import inspect
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, TypeAlias

from simpleeval import SimpleEval, safe_power

from catalog.tariffs.schema import Table, TableRow

__all__ = [
    "FUNCTIONS",
    "RESERVED_NAMES",
    "CompiledFormula",
    "Evaluator",
    "FormulaIssue",
    "TableIndex",
    "TableMissError",
    "Value",
    "check_formula",
    "compile_formula",
    "evaluate",
]

Value: TypeAlias = Decimal | str | bool
"""What a name or a formula holds: a number, a zone or choice id, or the outcome of a comparison."""

_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
"""Every evaluation runs in this context, whatever the thread's: 28 significant digits, errors trapped."""


class TableMissError(LookupError):
    """A table look-up found no row: no row for the key, or the value lies outside every range."""

    def __init__(self, table: str, value: Value, reason: str) -> None:
        super().__init__(f"{table}: {value}: {reason}")
        self.table = table
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class FormulaIssue:
    """Something wrong in a formula, as a message id of ``tariffs.po`` and its parameters."""

    key: str
    params: Mapping[str, str]


# functions of formulas


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"expected a number, got {value!r}")
    return Decimal(value)


def _round(value: Decimal, digits: Decimal = Decimal(0)) -> Decimal:
    """Half up, as people round (Python's own ``round`` rounds half to even)."""
    return _number(value).quantize(Decimal(1).scaleb(-int(_number(digits))), rounding=ROUND_HALF_UP)


def _floor(value: Decimal) -> Decimal:
    return _number(value).to_integral_value(rounding=ROUND_FLOOR)


def _ceil(value: Decimal) -> Decimal:
    return _number(value).to_integral_value(rounding=ROUND_CEILING)


def _abs(value: Decimal) -> Decimal:
    return abs(_number(value))


def _min(first: Value, second: Value, *more: Value) -> Value:
    return min(first, second, *more)


def _max(first: Value, second: Value, *more: Value) -> Value:
    return max(first, second, *more)


def _lookup_signature(table: str, key: str, column: str | None = None) -> None:
    """``lookup(table, key, column)``: the column's value in the row of ``key`` (a table without ranges)."""


def _range_lookup_signature(
    table: str, value: Decimal, column: str | None = None, key: str | None = None
) -> None:
    """``range_lookup(table, value, column, key)``: the column's value in the row whose range holds ``value``."""


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "min": _min,
    "max": _max,
    "abs": _abs,
    "round": _round,
    "floor": _floor,
    "ceil": _ceil,
    "lookup": _lookup_signature,
    "range_lookup": _range_lookup_signature,
}
"""The functions formulas may call; ``lookup`` and ``range_lookup`` read the book's tables."""

_USAGE = {
    "min": "min(a, b, ...)",
    "max": "max(a, b, ...)",
    "abs": "abs(x)",
    "round": "round(x, digits)",
    "floor": "floor(x)",
    "ceil": "ceil(x)",
    "lookup": 'lookup("table", key, "column")',
    "range_lookup": 'range_lookup("table", value, "column", key)',
}

RESERVED_NAMES = frozenset({"year", "True", "False", *FUNCTIONS})
"""Names that formulas already give a meaning: no input, parameter or line may take them."""

_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: safe_power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Constant,
    ast.keyword,
    ast.Load,
    ast.And,
    ast.Or,
    *_OPERATORS,
)

_SHOWN_FUNCTIONS = ", ".join(FUNCTIONS)


@dataclass(frozen=True)
class CompiledFormula:
    """A formula that parsed and holds only allowed constructs, with the names and tables it uses."""

    text: str
    tree: ast.Expression
    names: frozenset[str]
    tables: frozenset[str]


def _construct(node: ast.AST) -> str:
    try:
        return ast.unparse(node)[:30] or type(node).__name__
    except Exception:  # some nodes (operators, contexts) do not unparse
        return type(node).__name__


def _string_argument(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def compile_formula(text: str) -> CompiledFormula | FormulaIssue:
    """``text`` parsed as one expression, or the issue that stops it (a syntax error, a forbidden construct)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        detail = exc.msg if exc.offset is None else f"{exc.msg} (column {exc.offset})"
        return FormulaIssue("tariffs.formula_syntax", {"detail": detail})
    names: set[str] = set()
    tables: set[str] = set()
    callees = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            return FormulaIssue(
                "tariffs.formula_construct", {"construct": _construct(node), "functions": _SHOWN_FUNCTIONS}
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str):
            return FormulaIssue(
                "tariffs.formula_construct", {"construct": repr(node.value), "functions": _SHOWN_FUNCTIONS}
            )
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                return FormulaIssue(
                    "tariffs.formula_construct",
                    {"construct": _construct(node.func), "functions": _SHOWN_FUNCTIONS},
                )
            table = _string_argument(node.args[0]) if node.args else None
            if table is not None and node.func.id in ("lookup", "range_lookup"):
                tables.add(table)
        elif isinstance(node, ast.Name) and id(node) not in callees:
            names.add(node.id)
    return CompiledFormula(text, tree, frozenset(names), frozenset(tables))


def _check_table_call(
    name: str, arguments: inspect.BoundArguments, tables: Mapping[str, Table]
) -> FormulaIssue | None:
    table_node: ast.expr = arguments.arguments["table"]
    table_name = _string_argument(table_node)
    if table_name is None:
        return FormulaIssue("tariffs.table_literal", {"function": name})
    table = tables.get(table_name)
    if table is None:
        return FormulaIssue(
            "tariffs.unknown_table", {"table": table_name, "tables": ", ".join(tables) or "-"}
        )
    columns = ", ".join(table.columns)
    if name == "lookup" and table.range is not None:
        return FormulaIssue("tariffs.needs_range_lookup", {"table": table_name})
    if name == "range_lookup" and table.range is None:
        return FormulaIssue("tariffs.needs_lookup", {"table": table_name})
    column_node: ast.expr | None = arguments.arguments.get("column")
    if column_node is None:
        if len(table.columns) > 1:
            return FormulaIssue("tariffs.column_needed", {"table": table_name, "columns": columns})
    else:
        column = _string_argument(column_node)
        if column is None:
            return FormulaIssue("tariffs.column_literal", {"function": name})
        if column not in table.columns:
            return FormulaIssue(
                "tariffs.unknown_table_column", {"table": table_name, "column": column, "columns": columns}
            )
    has_key = arguments.arguments.get("key") is not None
    if table.key is None and has_key:
        return FormulaIssue("tariffs.table_not_keyed", {"table": table_name, "function": name})
    if table.key is not None and not has_key:
        return FormulaIssue("tariffs.key_needed", {"table": table_name, "kind": table.key.value})
    return None


def check_formula(
    formula: CompiledFormula,
    known: Collection[str],
    tables: Mapping[str, Table],
    later: Collection[str] = (),
) -> list[FormulaIssue]:
    """Issues of names and calls in ``formula``: ``known`` are the names it may use, ``later`` lines further down."""
    issues: list[FormulaIssue] = []
    for node in ast.walk(formula.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):  # compile_formula allows no other
            name = node.func.id
            function = FUNCTIONS.get(name)
            if function is None:
                issues.append(
                    FormulaIssue("tariffs.unknown_function", {"name": name, "functions": _SHOWN_FUNCTIONS})
                )
                continue
            keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg is not None}
            try:
                bound = inspect.signature(function).bind(*node.args, **keywords)
            except TypeError:
                issues.append(
                    FormulaIssue("tariffs.bad_arguments", {"function": name, "usage": _USAGE[name]})
                )
                continue
            if name in ("lookup", "range_lookup"):
                issue = _check_table_call(name, bound, tables)
                if issue is not None:
                    issues.append(issue)
    for name in sorted(formula.names):
        if name in known or name in ("year", "True", "False"):
            continue
        if name in later:
            issues.append(FormulaIssue("tariffs.later_line", {"name": name}))
        elif name in FUNCTIONS:
            issues.append(FormulaIssue("tariffs.function_as_name", {"name": name}))
        else:
            issues.append(
                FormulaIssue("tariffs.unknown_name", {"name": name, "known": ", ".join(sorted(known)) or "-"})
            )
    return issues


# evaluation


class TableIndex:
    """A book's tables, indexed for ``lookup`` and ``range_lookup`` (built once per book)."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self._tables = tables
        self._by_key: dict[str, dict[str | None, list[TableRow]]] = {}
        for name, table in tables.items():
            groups: dict[str | None, list[TableRow]] = {}
            for row in table.rows:
                groups.setdefault(row.key, []).append(row)
            self._by_key[name] = groups

    def _column(self, table_name: str, column: str | None) -> str:
        table = self._tables[table_name]
        if column is None:
            if len(table.columns) != 1:
                raise TypeError(f"table {table_name} has several columns: name one")
            return next(iter(table.columns))
        if column not in table.columns:
            raise TypeError(f"table {table_name} has no column {column}")
        return column

    def lookup(self, table: str, key: Value, column: str | None = None) -> Decimal:
        if table not in self._tables:
            raise TypeError(f"no table {table}")
        name = self._column(table, column)
        rows = self._by_key[table].get(str(key)) if isinstance(key, str) else None
        if not rows:
            raise TableMissError(table, key, "no_row")
        return rows[0].values[name]

    def range_lookup(
        self, table: str, value: Value, column: str | None = None, key: Value | None = None
    ) -> Decimal:
        if table not in self._tables:
            raise TypeError(f"no table {table}")
        name = self._column(table, column)
        number = _number(value)
        rows = self._by_key[table].get(key if isinstance(key, str) else None)
        if not rows:
            raise TableMissError(table, key if key is not None else value, "no_row")
        for index, row in enumerate(rows):
            low = row.from_ if row.from_ is not None else Decimal("-Infinity")
            above_low = number >= low if index == 0 else number > low
            if above_low and (row.to is None or number <= row.to):
                return row.values[name]
        first = rows[0].from_
        reason = "below" if first is not None and number < first else "above"
        raise TableMissError(table, number, reason)


def _constant(node: ast.Constant) -> Value:
    value = node.value
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError(f"constant {value!r} is not allowed")


class Evaluator:
    """Evaluates compiled formulas against one book's tables; create one per calculation (it holds names)."""

    def __init__(self, tables: Mapping[str, Table] | TableIndex) -> None:
        index = tables if isinstance(tables, TableIndex) else TableIndex(tables)
        functions: dict[str, Callable[..., Any]] = {
            **FUNCTIONS,
            "lookup": index.lookup,
            "range_lookup": index.range_lookup,
        }
        self._engine: Any = SimpleEval(operators=dict(_OPERATORS), functions=functions, names={})
        evaluator = self._engine
        # Only the node kinds formulas may hold; numbers become Decimals (simpleeval would keep floats).
        evaluator.nodes = {
            ast.Expression: lambda node: evaluator._eval(node.body),
            ast.Name: evaluator._eval_name,
            ast.UnaryOp: evaluator._eval_unaryop,
            ast.BinOp: evaluator._eval_binop,
            ast.BoolOp: evaluator._eval_boolop,
            ast.Compare: evaluator._eval_compare,
            ast.IfExp: evaluator._eval_ifexp,
            ast.Call: evaluator._eval_call,
            ast.keyword: evaluator._eval_keyword,
            ast.Constant: _constant,
        }

    def evaluate(self, formula: CompiledFormula, names: Mapping[str, Value]) -> Value:
        """The value of ``formula`` with ``names`` bound; raises ``TableMissError``, ``ArithmeticError`` or
        another exception (``TypeError``, simpleeval's) when it cannot be computed."""
        self._engine.names = dict(names)
        with decimal.localcontext(_CONTEXT):
            result: Value = self._engine.eval(formula.text, previously_parsed=formula.tree)
        return result


def evaluate(formula: CompiledFormula, names: Mapping[str, Value], tables: Mapping[str, Table]) -> Value:
    """One formula's value: a convenience for tests and one-off use (``Evaluator`` for many)."""
    return Evaluator(tables).evaluate(formula, names)
