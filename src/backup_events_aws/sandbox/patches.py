"""The one way the sandbox changes moto, botocore or boto3: a `Patches` list that records what it
replaced and puts it back.

Every extension (moto_fixes.py, cloudformation.py, bridge.py, lambda_runtime.py, lambda_api.py,
authorization.py, stacksets.py, cloudwatch.py) keeps one, fills it in `install()` and empties it
in `uninstall()`, latest first. What is put back is the attribute exactly as it was found in the
owner's own namespace (a classmethod stays a classmethod), and an attribute the owner only
inherited is removed again, so after `undo()` moto is the object it was.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, MutableMapping
from typing import Any

_ABSENT = object()  # the owner did not hold the attribute itself (inherited, or none)


class Patches:
    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self.targets: list[tuple[Any, Any]] = []  # (owner, name) or (mapping, key) now replaced

    @property
    def active(self) -> bool:
        return bool(self._undo)

    def replace(self, owner: Any, name: str, value: Any) -> None:
        """Set `owner.name` to `value` until `undo()`."""
        found = vars(owner).get(name, _ABSENT)
        setattr(owner, name, value)
        self.targets.append((owner, name))
        if found is _ABSENT:
            self._undo.append(lambda: delattr(owner, name))
        else:
            self._undo.append(lambda: setattr(owner, name, found))

    def wrap(self, owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
        """Make `owner.name(*args)` call `wrapper(original, *args)`, where `original` is what
        `owner.name` called before (for a classmethod: its function, which takes the class)."""
        original = inspect.getattr_static(owner, name)
        if isinstance(original, classmethod):
            function = original.__func__

            def class_patched(cls: Any, *args: Any, **kwargs: Any) -> Any:
                return wrapper(function, cls, *args, **kwargs)

            self.replace(owner, name, classmethod(class_patched))
            return

        def patched(*args: Any, **kwargs: Any) -> Any:
            return wrapper(original, *args, **kwargs)

        self.replace(owner, name, patched)

    def set_item(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        """Set `mapping[key]` until `undo()` (a route table, a registry)."""
        found = mapping.get(key, _ABSENT)
        mapping[key] = value
        self.targets.append((mapping, key))
        if found is _ABSENT:
            self._undo.append(lambda: mapping.pop(key, None))
        else:
            self._undo.append(lambda: mapping.__setitem__(key, found))

    def on_undo(self, action: Callable[[], None]) -> None:
        """Run `action` when undoing (what is not an attribute, such as a cache to clear)."""
        self._undo.append(action)

    def undo(self) -> None:
        """Put everything back, the latest change first; idempotent."""
        while self._undo:
            self._undo.pop()()
        self.targets.clear()
