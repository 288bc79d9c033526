"""Collect public names from the per-chapter modules ``chNN_*`` of a package."""

from __future__ import annotations

import importlib
import pkgutil


def collect(package_name: str, package_path, namespace: dict, prefix: str = "") -> list[str]:
    """Import every ``chNN_*`` submodule and copy its public names (starting with ``prefix``) into namespace.

    Returns the exported names. Two chapters exporting the same name is a bug and raises ImportError.
    """
    exported: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda m: m.name):
        if not (info.name.startswith("ch") and info.name[2:4].isdigit()):
            continue
        module = importlib.import_module(f"{package_name}.{info.name}")
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n.startswith(prefix or "")]
        for name in names:
            if name.startswith("_") or (prefix and not name.startswith(prefix)):
                continue
            if name in exported and exported[name] != info.name:
                raise ImportError(f"{name} is defined in both {exported[name]} and {info.name}")
            exported[name] = info.name
            namespace[name] = getattr(module, name)
    return sorted(exported)
