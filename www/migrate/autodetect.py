"""What `python -m www.migrate make` writes: the operations that turn the schema the
migrations build into the one the models declare.

    ops = diff(build(existing), tables_of(MODELS), fields=fields_of(MODELS),
               renames=parse_renames(args.rename, args.drop), fills=parse_fills(args.fill),
               ask=input if sys.stdin.isatty() else None)

Two things cannot be read from the schemas, and are never guessed:
- a renamed column looks like a dropped one plus an added one, and dropping loses the
  data: each possible rename is asked about (`ask`) or stated beforehand (`renames`);
  with no way to ask, `diff` refuses and says how to state it;
- the rows already in a table need a value (`fill`) for a new NOT NULL column: the
  field's default, or a value given (`fills`) or asked for, or a refusal saying what to do.

The result satisfies `build(ops, before) == after`. Columns are compared by
name, not position: the engines add a column at the end, and the ORM names every column
it reads, so the fields of a model may be declared in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..db.schema import Column, Table
from ..orm import BooleanField, DateTimeField, Field, FloatField, IntegerField, TextField
from .operations import (
    AddColumn,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropIndex,
    DropTable,
    Operation,
    RenameColumn,
    build,
)

Key = tuple[str, str]  # (table, column)
Ask = Callable[[str], str]  # a question -> the user's answer: `input` in a terminal
Noted = list[tuple[Operation, str | None]]  # operations, each with a comment or None
KIND_FIELDS = {
    f.kind: f for f in (IntegerField, FloatField, TextField, BooleanField, DateTimeField)
}
YES = ("y", "yes", "true", "t", "1", "on")
BOOLEANS = dict.fromkeys(YES, True) | dict.fromkeys(("n", "no", "false", "f", "0", "off"), False)


class AutodetectError(Exception):
    """A change that `diff` will not guess; the message says how to state it."""


class Operations(list):
    """The operations, and `notes`: operation index -> a comment for the migration file
    (a value made at `make` time, a reverse that is missing)."""

    def __init__(self, operations: Iterable[Operation] = (), notes: dict[int, str] | None = None):
        super().__init__(operations)
        self.notes = notes or {}


def fields_of(models: Iterable[Any]) -> dict[Key, Field]:
    """The models' fields by (table, column), for their defaults."""
    return {(m._meta.table, f.name): f for m in models for f in m._meta.fields}


def _key(text: str, flag: str, form: str) -> tuple[str, str, str]:
    """`table.column=value` (or `table.column` when `form` has no "=") -> its three parts."""
    target, equals, value = text.partition("=")
    table, dot, column = target.strip().partition(".")
    if not (table and dot and column) or bool(equals) != ("=" in form):
        raise AutodetectError(f"{flag} takes {form}, not {text!r}")
    return table, column, value


def parse_renames(renames: Iterable[str] = (), drops: Iterable[str] = ()) -> dict[Key, str | None]:
    """`--rename tags.colour=color` and `--drop tags.colour` (gone, not renamed) as the
    `renames` of `diff`: (table, old name) -> the new name, or None."""
    result: dict[Key, str | None] = {}
    for text in renames:
        table, old, new = _key(text, "--rename", "table.old=new")
        if not new.strip():
            raise AutodetectError(f"--rename takes table.old=new, not {text!r}")
        result[table, old] = new.strip()
    for text in drops:
        table, old, _ = _key(text, "--drop", "table.column")
        result[table, old] = None
    return result


def parse_fills(fills: Iterable[str] = ()) -> dict[Key, str]:
    """`--fill tags.color=gray` as the `fills` of `diff`, which converts each value to its
    column's type (nothing after "=" is an empty text)."""
    parts = (_key(text, "--fill", "table.column=VALUE") for text in fills)
    return {(table, column): value for table, column, value in parts}


def diff(
    before: Mapping[str, Table],
    after: Mapping[str, Table],
    *,
    fields: Mapping[Key, Field] | None = None,
    renames: Mapping[Key, str | None] | None = None,
    fills: Mapping[Key, str] | None = None,
    ask: Ask | None = None,
) -> Operations:
    """The operations from `before` (what the migrations build) to `after` (the models),
    in an order every engine can run: the indexes that go are dropped, columns renamed and
    dropped, new tables created (each after those it refers to), columns altered and added,
    old tables dropped (those referring to others first), indexes created.

    `fields`: fields_of(models), whose defaults fill new NOT NULL columns; `renames` and
    `fills`: what the user stated (parse_renames, parse_fills); `ask`: how to ask the
    rest, None when there is no terminal. Raises AutodetectError."""
    return _Differ(before, after, fields or {}, renames or {}, fills or {}, ask).run()


class _Differ:
    """One run of `diff`: its inputs, the answers used, and the problems to report."""

    def __init__(self, before, after, fields, renames, fills, ask) -> None:
        self.before, self.after, self.fields, self.ask = before, after, fields, ask
        self.renames, self.fills, self.unused_fills = dict(renames), dict(fills), set(fills)
        self.called: dict[Callable, Any] = {}  # each callable default is called once
        self.problems: list[str] = []
        for (table, old), new in self.renames.items():
            self._check_rename(table, old, new)

    def run(self) -> Operations:
        kept = [name for name in self.after if name in self.before]
        renames = {name: self._renames(self.before[name], self.after[name]) for name in kept}
        self._raise("Were these columns renamed? There is no terminal to ask")
        # Drop indexes, rename and drop columns, create tables, alter and add columns, drop
        # tables, create indexes: each operation finds what it needs (see diff).
        phases: list[Noted] = [[] for _ in range(6)]
        for name in kept:
            self._table(name, renames[name], phases)
        created = _creation_order([t for n, t in self.after.items() if n not in self.before])
        dropped = _creation_order([t for n, t in self.before.items() if n not in self.after])
        taken = {i.name for t in dropped for i in t.indexes}  # index names are per database
        for table in created:
            later = [i for i in table.indexes if i.name in taken]  # once those are dropped
            kept_indexes = [i for i in table.indexes if i.name not in taken]
            phases[2].append((CreateTable(table.replace(indexes=kept_indexes)), None))
            phases[5][:0] = [(CreateIndex(table.name, i), None) for i in later]
        phases[4] = [(DropTable(table), None) for table in reversed(dropped)]
        if self.unused_fills:
            table, column = min(self.unused_fills)
            raise AutodetectError(f"--fill {table}.{column}: no column added or made NOT NULL")
        self._raise("The rows already there need a value, and there is no terminal to ask")
        pairs = [pair for phase in phases for pair in phase]
        notes = {i: note for i, (_, note) in enumerate(pairs) if note}
        return Operations([operation for operation, _ in pairs], notes)

    def _raise(self, heading: str) -> None:
        if self.problems:
            problems, self.problems = self.problems, []
            raise AutodetectError("\n  ".join([f"{heading}:", *problems]))

    def _check_rename(self, table: str, old: str, new: str | None) -> None:
        flag = f"--rename {table}.{old}={new}" if new else f"--drop {table}.{old}"
        if table not in self.before or table not in self.after:
            raise AutodetectError(f"{flag}: {table} is not a table of the models and migrations")
        before = {c.name for c in self.before[table].columns}
        after = {c.name for c in self.after[table].columns}
        if old not in before or old in after:
            raise AutodetectError(f"{flag}: {table}.{old} is not a column the models dropped")
        if new is not None and (new not in after or new in before):
            raise AutodetectError(f"{flag}: {table}.{new} is not a column the models added")

    def _renames(self, old: Table, new: Table) -> dict[str, str]:
        """old name -> new name: stated, or asked about for each dropped column and each
        added one of the same type; with no `ask`, each possibility is a problem."""
        t, stated = old.name, {o: n for (t_, o), n in self.renames.items() if t_ == old.name}
        old_names, new_names = {c.name for c in old.columns}, {c.name for c in new.columns}
        lost = [c for c in old.columns if c.name not in new_names | stated.keys()]
        renames = {o: n for o, n in stated.items() if n}
        free = [c for c in new.columns if c.name not in old_names | set(renames.values())]
        for column in lost:
            candidates = [c for c in free if c.type == column.type]
            if candidates and self.ask is None:
                names = " or ".join(c.name for c in candidates)
                new_name = candidates[0].name if len(candidates) == 1 else "NEW"
                self.problems.append(
                    f"{t} lost {column.name} and gained {names} ({column.type}): if renamed, "
                    f"pass --rename {t}.{column.name}={new_name}; if gone, --drop {t}.{column.name}"
                )
                continue
            for candidate in candidates:
                if self._yes(f"Did you rename {t}.{column.name} to {t}.{candidate.name}? [y/N] "):
                    renames[column.name] = candidate.name
                    free.remove(candidate)
                    break
        return renames

    def _table(self, name: str, renames: dict[str, str], phases: list[Noted]) -> None:
        """A kept table's operations, into the phases of `run`."""
        old, new = self.before[name], self.after[name]
        renaming = [RenameColumn(name, o, n) for o, n in renames.items()]
        state = build(renaming, {name: old})[name]  # its indexes name the new columns
        keys = [[c.name for c in t.columns if c.primary_key] for t in (state, new)]
        if keys[0] != keys[1]:
            raise AutodetectError(f"{name}: a migration cannot change its primary key {keys}")
        original = {index.name: index for index in old.indexes}
        phases[0] += [
            (DropIndex(name, original[i.name]), None) for i in state.indexes if i not in new.indexes
        ]
        phases[1] += [(op, None) for op in renaming]
        was, now = {c.name: c for c in state.columns}, {c.name for c in new.columns}
        for c in (c for c in state.columns if c.name not in now):
            lost = f"`down` cannot bring back {name}.{c.name} (NOT NULL) without fill=..."
            phases[1].append((DropColumn(name, c), None if c.null else lost))
        adds: Noted = []
        for column in new.columns:
            if column.name not in was:
                fill, note = self._fill(name, column, "new")
                adds.append((AddColumn(name, column, fill=fill), note))
            elif was[column.name] != column:
                fill, note = None, None
                if was[column.name].null and not column.null:
                    fill, note = self._fill(name, column, "no longer NULL")
                phases[3].append((AlterColumn(name, was[column.name], column, fill=fill), note))
        phases[3] += adds
        phases[5] += [(CreateIndex(name, i), None) for i in new.indexes if i not in state.indexes]

    def _fill(self, table: str, column: Column, why: str) -> tuple[Any, str | None]:
        """The value for the rows already there (and a note), or None."""
        key, field = (table, column.name), self.fields.get((table, column.name))
        if key in self.fills:
            self.unused_fills.discard(key)
            try:
                return _convert(self.fills[key], column, field), None
            except ValueError as exc:
                raise AutodetectError(f"--fill {table}.{column.name}: {exc}") from None
        default = getattr(field, "default", None)
        if field is not None and default is not None:
            note = None
            if callable(default):
                if default not in self.called:
                    self.called[default] = default()
                value = self.called[default]
                note = f"fill: {getattr(default, '__name__', 'the default')}() at `make` time"
            else:
                value = default
            try:
                return field.db_value(value), note
            except ValueError as exc:
                raise AutodetectError(f"{table}.{column.name}: its default: {exc}") from None
        if column.null:
            return None, None
        where = f"{table}.{column.name} ({column.type}, {why}, NOT NULL, no default)"
        if self.ask is None:
            self.problems.append(
                f"{where}: give the field a default or null=True, "
                f"or pass --fill {table}.{column.name}=VALUE"
            )
            return None, None
        question = f"{where}: the value for the rows already in {table}? "
        while True:
            answer = self._answer(question)
            try:
                return _convert(answer, column, field), None
            except ValueError as exc:
                question = f"{exc}. {where}: the value for the rows already in {table}? "

    def _answer(self, question: str) -> str:
        assert self.ask is not None
        try:
            return self.ask(question)
        except EOFError:
            raise AutodetectError(f"no answer to: {question.strip()}") from None

    def _yes(self, question: str) -> bool:
        return self._answer(question).strip().lower() in YES


def _convert(text: str, column: Column, field: Field | None) -> Any:
    """A value typed or given as text, in its column's database form; ValueError."""
    if field is None:
        field = KIND_FIELDS[column.type]()
        field.name = column.name
    value: Any = text
    try:
        if column.type in ("integer", "float"):
            value = (int if column.type == "integer" else float)(text)
        elif column.type == "boolean":
            value = BOOLEANS[text.strip().lower()]
        return field.db_value(value)
    except (ValueError, KeyError) as exc:
        reason = getattr(exc, "message", f"not a valid {column.type}")
        raise ValueError(f"{reason}: {text!r}") from None


def _creation_order(tables: list[Table]) -> list[Table]:
    """The tables, each after those it refers to (in their order otherwise)."""
    pending, done, order = list(tables), set(), []
    names = {table.name for table in tables}
    while pending:
        for table in pending:
            if not ({c.references for c in table.columns} & names) - done - {table.name}:
                break
        else:
            raise AutodetectError(f"these tables refer to each other: {sorted(names - done)}")
        pending.remove(table)
        done.add(table.name)
        order.append(table)
    return order
