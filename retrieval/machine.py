"""The machine a benchmark ran on, recorded beside its timings (absolute times mean nothing without it)."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

__all__ = ["describe_machine", "machine_info"]


def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def machine_info() -> dict[str, Any]:
    """CPU model, logical CPUs, memory, platform and the current 1-minute load (None where the OS does not say)."""
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or None
    mem_kb = _proc_field("/proc/meminfo", "MemTotal")
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without it
        load = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(int(mem_kb.split()[0]) / 2**20, 1) if mem_kb else None,
        "platform": platform.platform(),
        "loadavg_1m": load,
    }


def describe_machine(info: dict[str, Any]) -> str:
    """One line for a report: "AMD EPYC, 2 CPUs, 23.5 GiB"."""
    return f"{info.get('cpu') or 'unknown CPU'}, {info.get('cpus')} CPUs, {info.get('memory_gib')} GiB"
