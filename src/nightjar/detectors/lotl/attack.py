"""What is known about Windows binaries and abuse: LOLBAS patterns, ProblemChild keywords, ATT&CK ids.

`Knowledge` is built once from the public catalogues (LOLBAS, Elastic's ProblemChild blocklist) by
`Knowledge.from_catalogues` and saved with the model as `knowledge.json`, so a shipped model needs no
data folder. `match` answers, for one process name and its command line: is it a documented LOLBin,
which documented abuse patterns its flags match (with category and ATT&CK id), which blocklist
keywords it contains, and whether its executable sits outside the usual folders for its name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAG = re.compile(r"(?:^|[\s\"'])([-/][a-z][a-z0-9_\-]*)(?=[\s:=\"',]|$)")
KNOWLEDGE_FILE = "knowledge.json"
# Switches too common to identify an abuse pattern on their own.
GENERIC_FLAGS = {"/c", "/k", "-c", "/s", "/q", "-command", "-file", "/f", "-f", "/y", "-e", "/e", "-v", "/v", "-h", "/?"}

# Where system binaries live; a name listed here that runs from elsewhere is a masquerade hint.
SYSTEM_DIRS = ("c:\\windows\\system32\\", "c:\\windows\\syswow64\\")
EXTRA_LOCATIONS = {
    name: SYSTEM_DIRS for name in (
        "svchost.exe", "lsass.exe", "services.exe", "csrss.exe", "winlogon.exe", "smss.exe", "wininit.exe",
        "taskhostw.exe", "conhost.exe", "rundll32.exe", "regsvr32.exe", "cmd.exe", "dllhost.exe", "spoolsv.exe",
        "lsm.exe", "wmiprvse.exe", "searchindexer.exe", "taskmgr.exe", "userinit.exe", "sihost.exe",
    )
} | {"explorer.exe": ("c:\\windows\\",), "powershell.exe": ("c:\\windows\\system32\\windowspowershell\\v1.0\\",
                                                           "c:\\windows\\syswow64\\windowspowershell\\v1.0\\")}

# Keywords (ProblemChild's and a few well-known ones) -> ATT&CK technique where the mapping is clear.
KEYWORD_TECHNIQUES = {
    "shadowcopy": "T1490", "delete": "", "bootstatuspolicy": "T1490", "recoveryenabled": "T1490",
    "systemstatebackup": "T1490", "downloadstring": "T1105", "downloadfile": "T1105", "bitstransfer": "T1197",
    "invoke-web": "T1105", "webclient": "T1105", "invoke-exp": "T1059.001", "reflection.assembly": "T1620",
    "assembly.gettype": "T1620", "base64string": "T1140", "memorystream": "T1140", "dump": "T1003",
    "bypass": "T1059.001", "allprofiles": "T1552", "password": "T1552", "createobject": "T1059.005",
    ".hta": "T1218.005",
}
ENCODED_TECHNIQUE = "T1027"
# Binaries whose abuse maps to one technique whatever the flags (used when no pattern or keyword gives one).
BINARY_TECHNIQUES = {
    "mshta.exe": "T1218.005", "regsvr32.exe": "T1218.010", "rundll32.exe": "T1218.011", "msiexec.exe": "T1218.007",
    "cmstp.exe": "T1218.003", "installutil.exe": "T1218.004", "regasm.exe": "T1218.009", "regsvcs.exe": "T1218.009",
    "odbcconf.exe": "T1218.008", "control.exe": "T1218.002", "hh.exe": "T1218.001", "msbuild.exe": "T1127.001",
    "powershell.exe": "T1059.001", "pwsh.exe": "T1059.001", "cmd.exe": "T1059.003", "cscript.exe": "T1059.005",
    "wscript.exe": "T1059.005", "wmic.exe": "T1047", "schtasks.exe": "T1053.005", "at.exe": "T1053.002",
    "sc.exe": "T1543.003", "bitsadmin.exe": "T1197", "reg.exe": "T1112", "vssadmin.exe": "T1490", "wbadmin.exe": "T1490",
    "bcdedit.exe": "T1490", "wevtutil.exe": "T1070.001", "certutil.exe": "T1105", "esentutl.exe": "T1003.002",
    "ntdsutil.exe": "T1003.003", "mavinject.exe": "T1218.013", "netsh.exe": "T1562.004", "auditpol.exe": "T1562.002",
}
CATEGORY_WORDS = {"Download": "download", "Execute": "execute", "AWL Bypass": "bypass application allow-listing",
                  "ADS": "use an alternate data stream", "Dump": "dump memory", "Copy": "copy files",
                  "UAC Bypass": "bypass UAC", "Compile": "compile code", "Upload": "upload", "Tamper": "tamper",
                  "Credentials": "read credentials", "Reconnaissance": "reconnoitre", "Decode": "decode",
                  "Encode": "encode", "Conceal": "conceal"}
CATEGORIES = tuple(CATEGORY_WORDS)


def flags_of(command: str) -> list[str]:
    """The lower-cased switches (`-urlcache`, `/i`) of a command line, in order, without values."""
    return FLAG.findall(command.lower())


@dataclass
class Pattern:
    """One documented abuse command of a binary: the flags that identify it."""

    flags: tuple[str, ...]
    category: str
    technique: str


@dataclass
class Match:
    """What the knowledge says about one event."""

    lolbin: bool = False
    name: str = ""
    patterns: tuple[Pattern, ...] = ()  # tuples: a memo keeps one Match per distinct command line, untracked by the GC
    keywords: tuple[str, ...] = ()
    unusual_path: bool = False

    @property
    def techniques(self) -> list[str]:
        """ATT&CK ids, most specific first, without repeats."""
        ids = [p.technique for p in self.patterns] + [KEYWORD_TECHNIQUES.get(k, "") for k in self.keywords]
        ids = [t for t in ids if t] or [BINARY_TECHNIQUES.get(self.name, "")]
        return list(dict.fromkeys(t for t in ids if t))


@dataclass
class Knowledge:
    """LOLBin patterns by lower-case binary name, blocklist keywords, usual folders by name."""

    patterns: dict[str, list[Pattern]] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    locations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def from_catalogues(cls, data: Path) -> Knowledge:
        """Build from `<data>/lotl/lolbas/lolbas_commands.csv` and the ProblemChild keyword list."""
        import pandas as pd

        lol = pd.read_csv(Path(data) / "lotl" / "lolbas" / "lolbas_commands.csv", dtype=str).fillna("")
        patterns: dict[str, list[Pattern]] = {}
        locations: dict[str, set[str]] = {}
        for row in lol.itertuples(index=False):
            name = row.binary.strip().lower()
            flags = tuple(dict.fromkeys(flags_of(row.command)))[:3]
            pats = patterns.setdefault(name, [])
            technique = row.mitre_id.split(";")[0].strip()
            if flags and not set(flags) <= GENERIC_FLAGS and all(p.flags != flags for p in pats):
                pats.append(Pattern(flags, row.attack_category, technique))
            for path in row.full_paths.split(";"):
                path = path.strip().lower()
                if path.endswith(name) and "<" not in path and "*" not in path:
                    locations.setdefault(name, set()).add(path[: -len(name)])
        keywords = (Path(data) / "lotl" / "elastic_problemchild" / "blocklist_keywords.txt").read_text().split()
        locs = {k: tuple(sorted(v)) for k, v in locations.items()}
        for name, dirs in EXTRA_LOCATIONS.items():
            locs[name] = tuple(sorted(set(locs.get(name, ())) | set(dirs)))
        return cls(patterns, [k.lower() for k in keywords], locs,
                   ["LOLBAS-Project/LOLBAS@3403b33 (GPL-3.0)", "elastic/examples ProblemChild blocklist (Apache-2.0)"])

    def match(self, name: str, command_line: str, executable: str = "") -> Match:
        """Everything known about a process `name` run as `command_line` from `executable`."""
        name, low = name.lower(), command_line.lower()
        m = Match(lolbin=name in self.patterns, name=name)
        if m.lolbin:
            flags = set(flags_of(low))
            m.patterns = tuple(p for p in self.patterns[name] if set(p.flags) <= flags)
        m.keywords = tuple(k for k in self.keywords if k in low) if self._any_keyword().search(low) else ()
        dirs = self.locations.get(name)
        if dirs and executable:
            folder = executable.lower()[: -len(name)] if executable.lower().endswith(name) else executable.lower()
            m.unusual_path = folder not in dirs and not folder.startswith(("c:\\windows\\winsxs\\", "\\??\\"))
        return m

    def _any_keyword(self) -> re.Pattern[str]:
        """One pattern that finds any of the keywords (most command lines hold none: one scan instead of one per keyword)."""
        cached = self.__dict__.get("_keyword_pattern")
        if cached is None or cached[0] != self.keywords:  # a list compared with a copy of the one compiled: no new objects
            words = list(self.keywords)
            cached = self.__dict__["_keyword_pattern"] = (words, re.compile("|".join(map(re.escape, words)) if words else "(?!)"))
        return cached[1]

    # --- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"format": "nightjar-lotl-knowledge/1", "sources": self.sources, "keywords": self.keywords,
                "locations": {k: list(v) for k, v in sorted(self.locations.items())},
                "patterns": {k: [[list(p.flags), p.category, p.technique] for p in v] for k, v in sorted(self.patterns.items())}}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Knowledge:
        """Inverse of `to_dict`."""
        pats = {k: [Pattern(tuple(f), c, t) for f, c, t in v] for k, v in doc["patterns"].items()}
        return cls(pats, list(doc["keywords"]), {k: tuple(v) for k, v in doc["locations"].items()}, list(doc.get("sources", [])))

    def save(self, directory: Path) -> Path:
        """Write `knowledge.json`."""
        path = Path(directory) / KNOWLEDGE_FILE
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")))
        return path

    @classmethod
    def load(cls, directory: Path) -> Knowledge:
        """Read `knowledge.json`."""
        return cls.from_dict(json.loads((Path(directory) / KNOWLEDGE_FILE).read_text()))
