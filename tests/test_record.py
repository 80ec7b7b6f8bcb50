"""xltool.record against the standard library's dataclasses: every declaration here is made twice,
once as a record and once as a dataclass, and both must behave alike (repr, equality, hash,
defaults, factories, frozen assignment, replace, fields, pickling, the constructor's TypeErrors).
The check path builds records, so a check imports neither dataclasses nor inspect (issue 20)."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pickle
import subprocess
import sys
import weakref
from typing import ClassVar

import pytest
from helpers import COMMITTED_FILLED, ROOT

from xltool import record as rec


def _both(body: dict, annotations: dict, *, frozen: bool = True, bases: tuple = (), **options) -> tuple[type, type]:
    """The declaration *body* as a record and as a dataclass (two fresh classes named alike)."""

    def make(field, decorate):
        ns = {"__annotations__": dict(annotations), "__module__": __name__, "__qualname__": "Point"}
        for name, value in body.items():
            if isinstance(value, dict) and "field" in value:  # a field(...) with these options
                value = field(**value["field"])
            ns[name] = value
        return decorate(type("Point", bases, ns))

    return (make(rec.field, rec.record(frozen=frozen, **options)),
            make(dataclasses.field, dataclasses.dataclass(frozen=frozen, **options)))


def _outcome(call):
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - compared, kind and message
        return type(exc).__name__, str(exc)
    return "ok", value


DECLARATIONS = {
    "plain": ({"y": 2, "z": {"field": {"default_factory": list}}}, {"x": "int", "y": "int", "z": "list"}),
    "kw_only": ({"y": 2, "z": {"field": {"default_factory": dict}}}, {"x": "int", "y": "int", "z": "dict"}),
    "no defaults": ({}, {"a": "str", "b": "str", "c": "str"}),
}
OPTIONS = [
    {"frozen": True}, {"frozen": False}, {"frozen": True, "slots": True}, {"frozen": False, "slots": True},
    {"frozen": False, "kw_only": True}, {"frozen": True, "kw_only": True, "slots": True},
]

CALLS = [
    ((), {}), ((1,), {}), ((1, 2), {}), ((1, 2, [3]), {}), ((1, 2, 3, 4), {}), ((), {"x": 1}),
    ((), {"x": 1, "y": 5}), ((1,), {"x": 1}), ((), {"q": 1}), ((1,), {"q": 1, "x": 2}), ((), {"y": 1}),
    ((1, 2, 3, 4), {"z": 1}), (("a", "b", "c"), {}), (("a",), {"c": "c"}), ((), {"a": 1, "b": 2, "c": 3}),
    (("a", "b", "c", "d"), {"q": 1}), ((), {"b": 1}), ((1, 2), {"y": 3}),
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("name", DECLARATIONS)
def test_construction_and_its_errors_are_the_dataclass_ones(name, options):
    if name == "kw_only" and not options.get("kw_only"):
        options = {**options, "kw_only": True}
    r, d = _both(*DECLARATIONS[name], **options)
    for args, kwargs in CALLS:
        got, want = _outcome(lambda: r(*args, **kwargs)), _outcome(lambda: d(*args, **kwargs))
        if want[0] == "ok":
            assert got[0] == "ok" and repr(got[1]) == repr(want[1]), (args, kwargs)
            assert [getattr(got[1], f.name) for f in rec.fields(r)] == [
                getattr(want[1], f.name) for f in dataclasses.fields(d)]
        else:
            assert got == want, (args, kwargs)


@pytest.mark.parametrize("options", OPTIONS[:4], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_equality_hash_repr_fields_and_replace_agree(options):
    r, d = _both({"y": "b", "z": {"field": {"default": (), "repr": False}}}, {"x": "int", "y": "str", "z": "tuple"},
                 **options)
    a, b = r(1), r(1)
    assert a == b and not (a != b) and a != r(2) and repr(a) == repr(d(1)) == "Point(x=1, y='b')"
    assert a.__eq__(d(1)) is NotImplemented and d(1).__eq__(a) is NotImplemented  # only the same class
    assert r.__match_args__ == d.__match_args__
    if options["frozen"]:
        assert hash(a) == hash(b) == hash(d(1))  # the same tuple is hashed
    else:
        assert r.__hash__ is None and d.__hash__ is None
    assert [(f.name, f.type, f.default, f.default_factory is rec.MISSING, f.repr) for f in rec.fields(a)] == [
        (f.name, f.type, f.default if f.default is not dataclasses.MISSING else rec.MISSING,
         f.default_factory is dataclasses.MISSING, f.repr) for f in dataclasses.fields(d)]
    assert rec.fields(r) == rec.fields(a)
    changed = rec.replace(a, y="c")
    assert repr(changed) == repr(dataclasses.replace(d(1), y="c")) and a.y == "b"
    assert _outcome(lambda: rec.replace(a, q=1)) == _outcome(lambda: dataclasses.replace(d(1), q=1))
    with pytest.raises(TypeError):
        rec.fields(object())


def test_default_factories_are_called_for_each_record():
    r, _d = _both({"items": {"field": {"default_factory": list}}}, {"items": "list"}, frozen=False)
    first, second = r(), r()
    first.items.append(1)
    assert second.items == [] and r(items=[2]).items == [2]


@pytest.mark.parametrize("slots", [False, True])
def test_a_frozen_record_refuses_assignment_as_a_dataclass_does(slots):
    r, _d = _both({}, {"x": "int"}, slots=slots)
    # The messages of a dataclass without slots: Python 3.11's slotted frozen dataclass raises a
    # TypeError for a name that is not a field (its __setattr__ names the class before slots).
    _r, d = _both({}, {"x": "int"})
    for action in (lambda o: setattr(o, "x", 2), lambda o: setattr(o, "other", 2), lambda o: delattr(o, "x")):
        messages = []
        for obj, kind in ((r(1), rec.FrozenRecordError), (d(1), dataclasses.FrozenInstanceError)):
            with pytest.raises(kind) as caught:
                action(obj)
            messages.append(str(caught.value))
        assert messages[0] == messages[1]
    assert issubclass(rec.FrozenRecordError, AttributeError)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_records_pickle_and_copy(options):
    from xltool.form.expr import Ref, Sum  # module-level records: pickled by reference to their class

    expr = Sum((Ref("a"), Ref("b")))
    assert pickle.loads(pickle.dumps(expr)) == expr and copy.deepcopy(expr) == expr
    r, _d = _both({"y": 2}, {"x": "int", "y": "int"}, **options)
    obj = r(x=1)
    state = copy.copy(obj)
    assert state == obj and state is not obj and copy.deepcopy(obj) == obj


def test_the_check_path_records_pickle():
    from xltool.check.checker import check_path

    result, report = check_path(COMMITTED_FILLED)
    back = pickle.loads(pickle.dumps(report))
    assert back == report and back.to_json() == report.to_json()
    form = pickle.loads(pickle.dumps(result.form))
    assert form.fields == result.form.fields and form.fields[0] is not result.form.fields[0]
    with pytest.raises(AttributeError):
        form.fields[0].label = "x"  # still frozen after a round trip
    assert weakref.ref(report)() is report  # the audit follows reports by weak reference


def test_post_init_inheritance_classvar_and_declaration_errors():
    seen = []

    class Base:
        def __post_init__(self):
            seen.append(self.x)

    @rec.record(frozen=False)
    class Parent(Base):
        x: int
        limit: ClassVar[int] = 5  # a class attribute, not a field

    @rec.record(frozen=False)
    class Child(Parent):
        y: int = 0

    child = Child(3, 4)
    assert seen == [3] and [f.name for f in rec.fields(Child)] == ["x", "y"] and Child.limit == 5
    assert repr(child) == "test_post_init_inheritance_classvar_and_declaration_errors.<locals>.Child(x=3, y=4)"

    def declare(decorate, body):
        return _outcome(lambda: decorate(type("Bad", (), {"__annotations__": {"a": "int", "b": "int"}, **body})))

    for body in ({"a": 1}, {"b": []}, {"a": {}, "b": 2}):  # a default before none; mutable defaults
        got = declare(rec.record, body)
        assert got[0] in ("TypeError", "ValueError") and got == declare(dataclasses.dataclass, body)


def test_pydantic_reads_a_record_as_the_dataclass_it_declares():
    from pydantic import BaseModel, TypeAdapter, ValidationError

    r, d = _both({"y": "b", "z": {"field": {"default_factory": list, "metadata": {"description": "zs"}}}},
                 {"x": "int", "y": "str", "z": "list[int]"})
    rt, dt = rec.type_adapter(r), TypeAdapter(d)
    assert rt.json_schema() == dt.json_schema()
    assert repr(rt.validate_python({"x": "3", "z": [1]})) == repr(dt.validate_python({"x": "3", "z": [1]}))
    for bad in ({"x": "q"}, {"y": "b"}, 3, {"x": 1, "z": ["a"]}):
        with pytest.raises(ValidationError) as got:
            rt.validate_python(bad)
        with pytest.raises(ValidationError) as want:
            dt.validate_python(bad)
        assert got.value.errors(include_url=False) == want.value.errors(include_url=False)
        assert got.value.title == want.value.title == "Point"
    obj = r(1)
    assert rt.validate_python(obj) is obj and rt.dump_python(obj) == dt.dump_python(d(1))

    class Holder(BaseModel):
        point: r | None = None  # type: ignore[valid-type]

    held = Holder(point=obj)
    assert held.point is obj and Holder.model_validate_json(held.model_dump_json()).point == obj
    assert json.loads(held.model_dump_json()) == {"point": {"x": 1, "y": "b", "z": []}}


def test_the_light_check_path_imports_neither_dataclasses_nor_inspect(tmp_path):
    program = (
        "import sys, json\n"
        f"sys.argv = ['xltool', 'check-workbook', {str(COMMITTED_FILLED)!r}]\n"
        "try:\n"
        "    from xltool.cli import main\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('\\n@@' + json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLTOOL_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "120"}
    for name in ("XLTOOL_LANG", "FORCE_COLOR", "TTY_COMPATIBLE"):  # as tests/test_light_cli.py: plain output
        env.pop(name, None)

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, env=env)
        return json.loads(done.stderr.rpartition("\n@@")[2])

    run()  # an empty cache: the form is laid out (pydantic validates the pack) and kept
    facts = run()
    assert facts["code"] == 1 and "xltool.check.finding" in facts["modules"] and "xltool.record" in facts["modules"]
    assert {"dataclasses", "inspect"} & set(facts["modules"]) == set(), " ".join(m for m in facts["modules"] if m.startswith(("pydantic", "xltool")))
