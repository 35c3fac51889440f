"""The memory a device offers (notebook 09 compares attention's needs with it) on Linux, macOS and Windows."""

import os
import sys
from pathlib import Path

import pytest

import helpers.device as device


@pytest.mark.skipif(not Path("/proc/meminfo").is_file(), reason="compares with Linux's /proc/meminfo")
def test_system_memory_is_the_machines_ram():
    total_kib = int(
        next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1]
    )
    ram = device.system_memory_bytes()
    assert abs(ram - 1024 * total_kib) < 0.05 * ram  # sysconf counts the same pages, bar the kernel's reserve


def test_without_sysconf_memory_is_unknown_not_an_error(monkeypatch):
    """Where os.sysconf is missing (Windows without the ctypes path, some sandboxes), None, never a crash."""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delattr(os, "sysconf")
    assert device.system_memory_bytes() is None
    assert device.memory_of("cpu") == (None, "this machine's RAM")


def test_on_windows_the_windows_call_answers(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "sysconf")  # Windows has none
    monkeypatch.setattr(device, "_windows_memory_bytes", lambda: 16 * 2**30)
    assert device.memory_of("cpu") == (16 * 2**30, "this machine's RAM")
