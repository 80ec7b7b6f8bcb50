"""Small record classes without generated source code.

``@record`` declares a class of plain data from its annotations, as ``dataclasses.dataclass``
does, with the same behaviour the project relies on (keyword and positional construction and
the same TypeError messages, defaults and default factories, ``__post_init__``, equality only
with the same class, a hash for frozen records, the same ``repr``, frozen assignment refused,
``__slots__``, ``__match_args__``, pickling). Its methods are shared functions closed over the
class's field names, built once per class: dataclasses compiles six methods from source for
every class (an ``exec`` each) and imports ``inspect``, which cost the check path about 40 ms
at start (issue 20). Records are frozen unless declared ``frozen=False``.

``fields``, ``replace`` and ``is_record`` stand for their dataclasses namesakes. pydantic
validates and serialises a record (a field of a model, a TypeAdapter) through a dataclass of
the same declaration built when it first asks (``__get_pydantic_core_schema__``), so pydantic
and dataclasses are imported only then.
"""

from __future__ import annotations

from _thread import get_ident
from itertools import repeat
from operator import attrgetter
from typing import Any

__all__ = ["MISSING", "Field", "FrozenRecordError", "field", "fields", "is_record", "record", "replace"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenRecordError(AttributeError):
    """An assignment to (or deletion of) a field of a frozen record (dataclasses' FrozenInstanceError)."""


class Field:
    """One field: its name, annotation (as written) and default. Read by ``fields``."""

    __slots__ = ("name", "type", "default", "default_factory", "repr", "compare", "kw_only", "metadata")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,
                 compare: bool = True, kw_only: Any = MISSING, metadata: Any = None) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name: str = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.kw_only = kw_only
        self.metadata = {} if metadata is None else metadata

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r},type={self.type!r},default={self.default!r},"
                f"default_factory={self.default_factory!r},repr={self.repr!r},compare={self.compare!r},"
                f"kw_only={self.kw_only!r},metadata={self.metadata!r})")


def field(*, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True, compare: bool = True,
          kw_only: Any = MISSING, metadata: Any = None) -> Any:
    """A field's options, as ``dataclasses.field`` takes them."""
    return Field(default, default_factory, repr, compare, kw_only, metadata)


def fields(class_or_instance: Any) -> tuple[Field, ...]:
    """The record's fields in declaration order (TypeError for anything else, as dataclasses)."""
    try:
        return class_or_instance.__record_fields__
    except AttributeError:
        raise TypeError("must be called with a dataclass type or instance") from None


def is_record(obj: Any) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return hasattr(cls, "__record_fields__")


def replace(obj: Any, /, **changes: Any) -> Any:
    """A new record like *obj* with *changes*, built by its ``__init__`` (``__post_init__`` runs)."""
    for f in fields(obj):
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def record(cls: type | None = None, /, *, frozen: bool = True, kw_only: bool = False, slots: bool = False,
           weakref_slot: bool = False, eq: bool = True) -> Any:
    """Make *cls* a record (see the module's docstring); ``@record`` or ``@record(frozen=False, ...)``."""

    def wrap(cls: type) -> type:
        return _build(cls, frozen, kw_only, slots, weakref_slot, eq)

    return wrap if cls is None else wrap(cls)


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return getattr(annotation, "__origin__", None) is not None and repr(annotation).startswith("typing.ClassVar")


def _build(cls: type, frozen: bool, kw_only: bool, slots: bool, weakref_slot: bool, eq: bool) -> type:
    body = cls.__dict__
    inherited: dict[str, Field] = {}
    base_frozen = None
    for base in cls.__mro__[-1:0:-1]:
        base_fields = base.__dict__.get("__record_fields__")
        if base_fields is not None:
            inherited.update((f.name, f) for f in base_fields)
            base_frozen = base.__dict__["__record_frozen__"]
    if base_frozen is not None and base_frozen != frozen:
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one" if frozen
                        else "cannot inherit non-frozen dataclass from a frozen one")
    own: list[Field] = []
    for name, annotation in body.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = body.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name, f.type = name, annotation
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                             "use default_factory")
        own.append(f)
    all_fields = {**inherited}
    for f in own:
        all_fields[f.name] = f
    flds = tuple(all_fields.values())
    names = tuple(f.name for f in flds)

    for f in own:  # the class attribute is the default, as dataclasses leaves it (none under slots)
        if isinstance(body.get(f.name), Field):
            if f.default is MISSING:
                delattr(cls, f.name)
            else:
                setattr(cls, f.name, f.default)
    if slots:
        cls = _with_slots(cls, names, weakref_slot)
        body = cls.__dict__

    positional = [f for f in flds if not f.kw_only]
    seen_default = False
    for f in positional:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default

    cls.__record_fields__ = flds  # type: ignore[attr-defined]
    cls.__record_frozen__ = frozen  # type: ignore[attr-defined]
    cls.__record_names__ = frozenset(names)  # type: ignore[attr-defined]
    if "__match_args__" not in body:
        cls.__match_args__ = tuple(f.name for f in positional)  # type: ignore[attr-defined]
    if "__init__" not in body:
        cls.__init__ = _make_init(cls, flds, positional, frozen, slots)  # type: ignore[misc]
    if "__repr__" not in body:
        cls.__repr__ = _make_repr(tuple(f.name for f in flds if f.repr))  # type: ignore[method-assign]
    key = _key_of(tuple(f.name for f in flds if f.compare))
    if eq and "__eq__" not in body:
        cls.__eq__ = _make_eq(key)  # type: ignore[method-assign]
    class_hash = body.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in body))
    if eq and not explicit_hash:
        cls.__hash__ = _make_hash(key) if frozen else None  # type: ignore[method-assign,assignment]
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in body:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        cls.__setattr__, cls.__delattr__ = _make_frozen(cls, frozenset(names))  # type: ignore[method-assign]
        if slots and "__getstate__" not in body:
            cls.__getstate__ = _getstate  # type: ignore[attr-defined]
            cls.__setstate__ = _setstate  # type: ignore[attr-defined]
    if "__get_pydantic_core_schema__" not in body:
        cls.__get_pydantic_core_schema__ = classmethod(_pydantic_schema)  # type: ignore[attr-defined]
    return cls


def _with_slots(cls: type, names: tuple[str, ...], weakref_slot: bool) -> type:
    """A new class with the fields as slots (a class's slots are fixed when it is made)."""
    ns = dict(cls.__dict__)
    taken = {s for base in cls.__mro__[1:-1] for s in base.__dict__.get("__slots__", ())}
    wanted = [n for n in names if n not in taken]
    if weakref_slot and "__weakref__" not in taken:
        wanted.append("__weakref__")
    for n in names:
        ns.pop(n, None)
    ns.pop("__dict__", None)
    ns.pop("__weakref__", None)
    ns["__slots__"] = tuple(wanted)
    new = type(cls)(cls.__name__, cls.__bases__, ns)
    new.__qualname__ = cls.__qualname__
    return new


def _getstate(self: Any) -> list:
    return [getattr(self, f.name) for f in self.__record_fields__]


def _setstate(self: Any, state: list) -> None:
    for f, value in zip(self.__record_fields__, state):
        object.__setattr__(self, f.name, value)  # not the frozen __setattr__


def _make_init(cls: type, flds: tuple[Field, ...], positional: list[Field], frozen: bool, slots: bool):
    """``__init__(*args, **kwargs)`` binding as the signature dataclasses would generate. Each
    step is one call into C (set and dict operations, ``map``) but the default factories', so
    a record is built about as fast as the generated ``__init__`` builds it."""
    pos = tuple(f.name for f in positional)
    npos = len(pos)
    n = len(flds)
    every = n if npos == n else -1  # the positional call that gives every field
    allowed = frozenset(f.name for f in flds)
    defaults = {f.name: f.default for f in flds if f.default is not MISSING}
    factories = tuple((f.name, f.default_factory) for f in flds if f.default_factory is not MISSING)
    post_init = hasattr(cls, "__post_init__")
    qualname = f"{cls.__qualname__}.__init__"
    names = tuple(f.name for f in flds)
    # A frozen record's fields are set past its own __setattr__, as dataclasses does; the builtin
    # setattr is the quicker where the class allows it.
    store = object.__setattr__ if frozen else setattr

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) == every and not kwargs:  # every field, in order: stored as given
            for _ in map(store, repeat(self), pos, args):
                pass
            if post_init:
                self.__post_init__()
            return
        given = kwargs
        if args:
            if len(args) > npos or (kwargs and not kwargs.keys().isdisjoint(pos[:len(args)])):
                raise _call_error(qualname, flds, positional, args, kwargs)
            given = dict(zip(pos, args))
            given.update(kwargs)
        if not allowed.issuperset(given):
            raise _call_error(qualname, flds, positional, args, kwargs)
        values = defaults.copy()
        values.update(given)
        if len(values) != n:  # default factories to call, or fields missing
            for name, factory in factories:
                if name not in values:
                    values[name] = factory()
            if len(values) != n:
                raise _call_error(qualname, flds, positional, args, kwargs)
        # Attribute by attribute, in the fields' order, never through the instance's __dict__:
        # Python 3.11 keeps an instance's attributes inline (quick to read) until its __dict__ is
        # asked for.
        for _ in map(store, repeat(self), names, map(values.__getitem__, names)):
            pass
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = qualname
    return __init__


def _call_error(qualname: str, flds: tuple[Field, ...], positional: list[Field], args: tuple,
                kwargs: dict) -> TypeError:
    """The TypeError CPython raises for the same call of the generated ``__init__`` (same order
    of checks: keywords, then too many positional, then missing positional, then keyword-only)."""
    pos = [f.name for f in positional]
    kwonly = [f.name for f in flds if f.kw_only]
    given = set(pos[:len(args)])
    for name in kwargs:
        if name not in pos and name not in kwonly:
            return TypeError(f"{qualname}() got an unexpected keyword argument {name!r}")
        if name in given:
            return TypeError(f"{qualname}() got multiple values for argument {name!r}")
        given.add(name)

    def has_default(f: Field) -> bool:
        return f.default is not MISSING or f.default_factory is not MISSING

    if len(args) > len(pos):
        defaults = sum(has_default(f) for f in positional)
        total = len(pos) + 1  # self counts
        sig = f"from {total - defaults} to {total}" if defaults else str(total)
        plural = "s" if defaults or total != 1 else ""
        n = len(args) + 1
        kw_given = sum(name in kwargs for name in kwonly)
        extra = (f" positional argument{'s' if n != 1 else ''} (and {kw_given} keyword-only "
                 f"argument{'s' if kw_given != 1 else ''})") if kw_given else ""
        verb = "was" if n == 1 and not kw_given else "were"
        return TypeError(f"{qualname}() takes {sig} positional argument{plural} but {n}{extra} {verb} given")
    missing = [f.name for f in positional if not has_default(f) and f.name not in given]
    kind = "positional"
    if not missing:
        missing = [f.name for f in flds if f.kw_only and not has_default(f) and f.name not in given]
        kind = "keyword-only"
    quoted = [repr(n) for n in missing]
    if len(quoted) == 1:
        text = quoted[0]
    elif len(quoted) == 2:
        text = f"{quoted[0]} and {quoted[1]}"
    else:
        text = ", ".join(quoted[:-2]) + f", {quoted[-2]}, and {quoted[-1]}"
    return TypeError(f"{qualname}() missing {len(quoted)} required {kind} argument{'s' if len(quoted) != 1 else ''}: "
                     f"{text}")


_REPRS: set[tuple[int, int]] = set()


def _make_repr(names: tuple[str, ...]):
    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in _REPRS:
            return "..."
        _REPRS.add(key)
        try:
            return f"{type(self).__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in names)})"
        finally:
            _REPRS.discard(key)

    return __repr__


def _key_of(names: tuple[str, ...]):
    """The tuple of the compared fields' values (as dataclasses compares and hashes them)."""
    if len(names) >= 2:
        return attrgetter(*names)
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda self: (get(self),)
    return lambda self: ()


def _make_eq(key):
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _make_hash(key):
    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __hash__


def _make_frozen(cls: type, names: frozenset[str]):
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenRecordError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenRecordError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


# pydantic: a record validates and serialises as a dataclass of the same declaration would.

_MIRRORS: dict[type, type] = {}


def dataclass_of(cls: type) -> type:
    """A stdlib dataclass declared as the record *cls* (same name, module, docstring, fields,
    annotations and pydantic config), for pydantic to read; built once."""
    mirror = _MIRRORS.get(cls)
    if mirror is None:
        import dataclasses

        ns: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                              "__doc__": cls.__doc__, "__annotations__": {}}
        config = getattr(cls, "__pydantic_config__", None)
        if config is not None:
            ns["__pydantic_config__"] = config
        for f in fields(cls):
            ns["__annotations__"][f.name] = f.type
            ns[f.name] = dataclasses.field(
                default=dataclasses.MISSING if f.default is MISSING else f.default,
                default_factory=dataclasses.MISSING if f.default_factory is MISSING else f.default_factory,
                repr=f.repr, compare=f.compare, kw_only=bool(f.kw_only), metadata=f.metadata)
        mirror = dataclasses.dataclass(type(cls.__name__, (), ns))
        _MIRRORS[cls] = mirror
    return mirror


def _pydantic_schema(cls: type, source: Any, handler: Any) -> Any:
    from pydantic_core import core_schema

    mirror = dataclass_of(cls)
    names = tuple(f.name for f in fields(cls))

    def validate(value: Any, inner: Any) -> Any:
        if isinstance(value, cls):  # an instance is taken as it is (as pydantic takes a dataclass's)
            return value
        value = inner(value)
        return cls(**{n: getattr(value, n) for n in names})

    def to_mirror(value: Any, serialize: Any) -> Any:
        if isinstance(value, cls):
            copy = object.__new__(mirror)
            copy.__dict__.update((n, getattr(value, n)) for n in names)
            value = copy
        return serialize(value)

    inner = handler.generate_schema(mirror)
    return core_schema.no_info_wrap_validator_function(
        validate, inner, serialization=core_schema.wrap_serializer_function_ser_schema(to_mirror, schema=inner))


def type_adapter(cls: type) -> Any:
    """pydantic's TypeAdapter of the record *cls*, its errors titled with the class's name (as a
    dataclass's are)."""
    from pydantic import TypeAdapter

    return TypeAdapter(cls, config={"title": cls.__name__})
