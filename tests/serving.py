"""Waiting for a gateway started as a process (`pgcredits serve`, `pgcredits up`) to answer."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest


def wait_ready(url: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    """Until `url`/ready answers 200; fails the test if the process ends first or it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the gateway's process exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("the gateway never became ready")
