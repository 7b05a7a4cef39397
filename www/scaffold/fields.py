"""Each field type as code: its model field, its input and output schema fields, its form
input and how a test fills it in. One table a type, so that adding a type is one place.
"""

from __future__ import annotations

from .spec import FieldSpec, Resource

ORM_CLASS = {
    "str": "TextField",
    "text": "TextField",
    "int": "IntegerField",
    "float": "FloatField",
    "bool": "BooleanField",
    "datetime": "DateTimeField",
    "ref": "ForeignKey",
    "user": "ForeignKey",
}
PYTHON_TYPE = {"int": "int", "float": "float", "bool": "bool", "datetime": "Time", "ref": "int"}


def number(value: int) -> str:
    """10000 -> 10_000, as the project writes its limits."""
    return f"{value:_}" if value >= 10_000 else str(value)


def field_classes(resource: Resource) -> list[str]:
    """The ORM classes models.py imports, sorted as ruff sorts them."""
    return sorted({ORM_CLASS[f.type] for f in resource.fields} | {"DateTimeField"})


def model_field(f: FieldSpec) -> str:
    if f.type in ("str", "text"):
        default = ', default=""' if f.optional else ""
        return f"TextField(max_length={number(f.max_length or 0)}{default})"
    if f.type == "bool":
        return "BooleanField(default=False)"
    if f.type == "user":
        return "ForeignKey(User)"
    if f.type == "ref":
        optional = ', null=True, on_delete="SET NULL"' if f.optional else ""
        return f"ForeignKey({f.target}{optional})"
    return f"{ORM_CLASS[f.type]}({'null=True' if f.optional else ''})"


def input_field(f: FieldSpec, model: str) -> str:
    """`title: str = text("Title", ...)`: the rules of the form and the API's body."""
    label = f'"{f.label}"'
    if f.type in ("str", "text"):
        required = "min_length=1, " if not f.optional else ""
        limit = f'limit({model}, "{f.name}")'
        return f"{f.name}: str = text({label}, {required}max_length={limit})"
    if f.type == "bool":
        return f"{f.name}: bool = Field(False, title={label})"
    bounds = {
        "int": "ge=-BIGGEST, le=BIGGEST",
        "float": "ge=-BIGGEST, le=BIGGEST, allow_inf_nan=False",
        "ref": "ge=1, le=MAX_ID",
        "datetime": "",
    }[f.type]
    python = "datetime" if f.type == "datetime" else PYTHON_TYPE[f.type]
    validators = []
    if f.optional:
        python += " | None"
        validators.append("BeforeValidator(blank_is_none)")
    if f.type == "datetime":
        validators.append("AfterValidator(in_utc)")
    annotation = f"Annotated[{python}, {', '.join(validators)}]" if validators else python
    default = "None, " if f.optional else ""
    options = f", {bounds}" if bounds else ""
    return f"{f.column}: {annotation} = Field({default}title={label}{options})"


def output_field(f: FieldSpec) -> str:
    if f.type in ("str", "text"):
        return f"{f.name}: str"
    if f.type == "user":
        return f"{f.name}: UserOut"
    optional = " | None" if f.optional and f.type != "bool" else ""
    return f"{f.column}: {PYTHON_TYPE[f.type]}{optional}"


def form_input(f: FieldSpec) -> str:
    """The field's <input> (or <textarea>) in form.html, with its attrs (form_attrs())."""
    name, attrs = f.column, f"{{{{ attrs.{f.column} }}}}"
    value = f"{{{{ values.{name} if values.{name} is not none else '' }}}}"
    if f.type == "text":
        shown = f"{{{{ values.{name} or '' }}}}"
        return f'<textarea id="{name}" name="{name}" {attrs}>\n{shown}</textarea>'
    if f.type == "bool":
        checked = f"{{% if values.{name} in (true, 'on', 'true', '1') %}} checked{{% endif %}}"
        return f'<input id="{name}" type="checkbox" name="{name}" value="on"{checked}>'
    if f.type == "datetime":
        given = f"values.get('{name}')"  # a datetime (the row's) or text (the form's)
        shown = (
            f"{{{{ {given}.strftime('%Y-%m-%dT%H:%M') if {given}.strftime is defined"
            f" else ({given} or '') }}}}"
        )
        return f'<input id="{name}" type="datetime-local" name="{name}" value="{shown}" {attrs}>'
    if f.type == "str":  # text is never None: the posts' shorter form
        value = f"{{{{ values.{name} or '' }}}}"
    kind = {"int": 'number" step="1', "float": 'number" step="any', "ref": 'number" step="1'}
    kind_ = kind.get(f.type, "text")
    return f'<input id="{name}" type="{kind_}" name="{name}" value="{value}" {attrs}>'


def shown(f: FieldSpec, row: str) -> str:
    """How detail.html shows the field's value."""
    value = f"{row}.{f.column}"
    if f.type == "bool":
        return f"{{{{ 'Yes' if {value} else 'No' }}}}"
    if f.type == "datetime":
        if f.optional:
            return f"{{{{ {value}|datetime if {value} else '' }}}}"
        return f"{{{{ {value}|datetime }}}}"
    if f.type == "user":
        return f"{{{{ {row}.{f.name}.name }}}}"
    if f.optional and f.type in ("int", "float", "ref"):
        return f"{{{{ {value} if {value} is not none else '' }}}}"
    return f"{{{{ {value} }}}}"


def sample(f: FieldSpec, n: str = "1") -> str:
    """A valid value of the field as Python source, for the generated tests; `n` (source
    of an int) makes rows differ."""
    return {
        "str": f'f"{f.label} {{{n}}}"',
        "text": f'f"Some {f.label.lower()} {{{n}}}"',
        "int": n,
        "float": f"{n} + 0.5",
        "bool": "True",
        "datetime": "datetime(2030, 1, 2, 3, 4, tzinfo=UTC)",
    }.get(f.type, "None")


def form_sample(f: FieldSpec) -> str:
    """The same as a form sends it (source of a str)."""
    return {
        "str": f'"{f.label} 1"',
        "text": f'"Some {f.label.lower()}"',
        "int": '"7"',
        "float": '"2.5"',
        "bool": '"on"',
        "datetime": '"2030-01-02T03:04"',
    }.get(f.type, '""')


def expect(f: FieldSpec) -> str:
    """How the generated tests compare the stored value with form_sample()'s."""
    return {
        "str": f'== "{f.label} 1"',
        "text": f'== "Some {f.label.lower()}"',
        "int": "== 7",
        "float": "== 2.5",
        "bool": "is True",
        "datetime": "== datetime(2030, 1, 2, 3, 4, tzinfo=UTC)",
    }[f.type]


def json_sample(f: FieldSpec) -> str:
    """The same in a JSON body (source of a Python value)."""
    return {
        "str": f'"{f.label} 1"',
        "text": f'"Some {f.label.lower()}"',
        "int": "7",
        "float": "2.5",
        "bool": "True",
        "datetime": '"2030-01-02T03:04:00+00:00"',
    }.get(f.type, "None")


def invalid(f: FieldSpec) -> tuple[str, str]:
    """(value, message) that the field refuses, in a form or a JSON body (source of a str),
    for the generated tests."""
    if f.type in ("str", "text"):
        limit = f.max_length or 0
        return f'"x" * {limit + 1}', f"{f.label} must be at most {limit} characters."
    if f.type == "int":
        return '"many"', f"{f.label} must be a whole number."
    if f.type == "ref":
        return '"0"', f"{f.label} must be at least 1."
    if f.type == "float":
        return '"nan"', f"{f.label} must be a finite number."
    if f.type == "datetime":
        return '"soon"', f"{f.label} must be a date and time."
    return '"maybe"', f"{f.label} must be true or false."  # bool: a checkbox sends "on"
