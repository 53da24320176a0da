"""Loading and labelling the training and evaluation data (../shared/data/lotl), through nightjar.io.

- Atomic-EVTX: `heuristic_label` `atomic_tree` = malicious, `background` = benign, `harness_artifact`
  and `atomic_tree_conhost` dropped; also dropped: background whoami/hostname whose parent had exited
  (the harness's logging calls, see SOURCE.txt), and background events of the test account whose
  parent is missing, cmd.exe or powershell.exe: most are the test's own commands whose parent had
  exited (label unknown). The harness's PowerShell wrapper is unwrapped. Groups: technique and test.
- OTRF: Sysmon 1 and 4688 copies of one process are deduplicated (Sysmon kept). Attack events are
  labelled by walking the tree down from launchers (`label_otrf` says how); the rest is background.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from nightjar.errors import ConfigError

ATOMIC = "lotl/atomic_evtx/atomic_evtx_process_creation.csv.gz"
OTRF = "lotl/otrf_security_datasets/otrf_process_creation.csv.gz"
OTRF_META = "lotl/otrf_security_datasets/otrf_dataset_metadata.csv"
SHELLS = {"cmd.exe", "powershell.exe", "pwsh.exe", "wscript.exe", "cscript.exe", "mshta.exe", "rundll32.exe", "regsvr32.exe"}
SYSTEM_ROOTS = ("c:\\windows\\", "c:\\program files\\", "c:\\program files (x86)\\", "c:\\programdata\\microsoft\\",
                "c:\\windowsazure\\", "c:\\packages\\", "\\??\\c:\\windows\\")
# Launcher markers of PowerShell stagers (Empire, Covenant, Metasploit web delivery).
STAGER = r"-enc(?:odedcommand)?\s|-w(?:indow(?:style)?)?\s+hidden|frombase64string|downloadstring|iex\s*\(|reflection\.assembly"
ART_MARKERS = r"atomicredteam|externalpayloads|atomic red team|\bt1\d{3}(?:\.\d{3})?\b"
SOURCES = {
    "atomic_evtx": ("JayanthK007/atomic-evtx@5ee5509", "none stated (research use only)", ATOMIC),
    "otrf_security_datasets": ("OTRF/Security-Datasets@d9d40ef", "MIT", OTRF),
    "atomic_red_team": ("redcanaryco/atomic-red-team@9f85cf3", "MIT", "lotl/atomic_red_team/atomic_red_team_tests.csv"),
    "lolbas": ("LOLBAS-Project/LOLBAS@3403b33", "GPL-3.0", "lotl/lolbas/lolbas_commands.csv"),
    "elastic_problemchild": ("elastic/examples@6d86454", "Apache-2.0", "lotl/elastic_problemchild/blocklist_keywords.txt"),
    "sysmon_modular": ("olafhartong/sysmon-modular@a507259", "MIT", "lotl/sysmon_modular_benign_patterns/sysmon_modular_exclude_rules.csv"),
}


def _read(path: Path) -> pd.DataFrame:
    from nightjar.io import read_table

    table, _ = read_table(path)
    return table.to_pandas()


def load_atomic(data: Path, artefacts: str = "keep") -> pd.DataFrame:
    """Labelled Atomic-EVTX events with `label` (bool), `technique` and `test_dir` columns.

    `artefacts`: what to do with the background events the tests caused (`test_artefacts`): `keep`
    them as benign (the shipped recipe), `drop` them, or label them `attack`.
    """
    if artefacts not in ("keep", "drop", "attack"):
        raise ConfigError(f"The 'artefacts' parameter of load_atomic must be 'keep', 'drop' or 'attack'. Got {artefacts!r}.")
    df = _read(Path(data) / ATOMIC)
    lab = df["heuristic_label"].astype(str)
    keep = lab.isin(["atomic_tree", "background"])
    name = df["process.name"].astype("string").str.lower().fillna("")
    orphan = df["process.parent.executable"].isna() | (df["process.parent.executable"].astype("string") == "-")
    keep &= ~((lab == "background") & name.isin(["whoami.exe", "hostname.exe"]) & orphan.to_numpy())
    user = df["user.name"].astype("string").str.lower().fillna("")
    parent = df["process.parent.name"].astype("string").str.lower().fillna("")
    orphan_of_test = (lab == "background") & user.str.endswith("\\admin_test") & (parent.isin(["", "cmd.exe", "powershell.exe"]))
    keep &= ~orphan_of_test
    if artefacts != "keep":
        caused = test_artefacts(df) & (lab == "background").to_numpy()
        if artefacts == "drop":
            keep &= ~caused
        else:
            df.loc[caused, "heuristic_label"] = "atomic_tree"
    df = df[keep.to_numpy()].reset_index(drop=True)
    df["label"] = df["heuristic_label"].eq("atomic_tree").to_numpy()
    df["process.command_line"] = unwrap_harness(df["process.command_line"])
    return df


def test_artefacts(df: pd.DataFrame) -> np.ndarray:
    """Events the Atomic tests caused that the tree walk did not reach, and their descendants.

    Seeds: the PsExec service (only PsExec tests use it on this lab host; its children are the
    test's commands) and processes whose command line, executable or parent executable carries
    Atomic Red Team's own markers (`AtomicRedTeam`, `ExternalPayloads`, an ATT&CK id such as
    `T1543.003`): test payloads started by a service or by a dropped tool, and their prerequisites.
    """
    low = {c: df[c].astype("string").str.lower().fillna("") for c in ("process.command_line", "process.executable", "process.parent.executable")}
    seed = df["process.name"].astype("string").str.lower().fillna("").eq("psexesvc.exe")
    for col in low.values():
        seed |= col.str.contains(ART_MARKERS, regex=True)
    mark = seed.to_numpy().copy()
    ids = df["process.entity_id"].astype("string").fillna("").to_numpy()
    parents = df["process.parent.entity_id"].astype("string").fillna("").to_numpy()
    for _ in range(8):
        new = mark | np.isin(parents, list(set(ids[mark]) - {""}))
        if (new == mark).all():
            break
        mark = new
    return mark


def unwrap_harness(cmd: pd.Series) -> pd.Series:
    """Invoke-AtomicTest's wrapper `"powershell.exe" & {X}` as `powershell.exe -Command "X"`, XML entities decoded.

    The wrapper is the harness's, not the technique's: left alone, a model learns the harness.
    """
    text = cmd.astype("string").fillna("").map(html.unescape, na_action="ignore")
    return text.str.replace(r'^"powershell\.exe" & \{(.*)\}\s*$', r'powershell.exe -Command "\1"', regex=True)


def load_otrf(data: Path) -> pd.DataFrame:
    """OTRF events, Sysmon/4688 duplicates removed, with `label` from `label_otrf`."""
    df = _read(Path(data) / OTRF)
    df["_name"] = df["process.name"].astype("string").str.lower().fillna("")
    df["_sec"] = df["@timestamp"].dt.floor("s")
    df["_src"] = np.where(df["event.code"] == "1", 0, 1)
    df = df.sort_values(["dataset", "_src"], kind="stable")
    df = df.drop_duplicates(["dataset", "host.name", "process.pid", "_name", "_sec"], keep="first")
    df = df.sort_values(["dataset", "@timestamp"], kind="stable").reset_index(drop=True)
    df["label"] = label_otrf(df)
    return df.drop(columns=["_name", "_sec", "_src"])


def _outside_system(path: pd.Series) -> pd.Series:
    low = path.astype("string").str.lower().fillna("")
    return (low != "") & ~low.str.startswith(SYSTEM_ROOTS)


def label_otrf(df: pd.DataFrame) -> np.ndarray:
    """Attack-tree labels for OTRF events, per dataset.

    Launchers (seeds) are: children of a shell or script host (cmd, powershell, wscript, cscript,
    mshta, rundll32, regsvr32) that are not conhost.exe and not run by a machine or service account;
    processes whose executable or parent executable lies outside the system and program folders
    (payloads, grunts, dumpers, tools on the desktop); PsExec's service; PowerShell carrying stager
    markers (`STAGER`: encoded or hidden window, FromBase64String, DownloadString, IEX, Reflection.Assembly),
    which catches Empire's WinRM/WMI launchers whose parent is wsmprovhost or wmiprvse, and any process whose
    command line starts such a PowerShell (Empire's `cmd.exe /C start /b ...powershell -noP -sta -w 1 -enc`
    launchers, run as SYSTEM by PsExec- or SMBExec-style services). Every descendant of a seed
    (by process.parent.entity_id, else host + parent pid) is in the attack tree too.
    """
    name = df["process.name"].astype("string").str.lower().fillna("")
    parent = df["process.parent.name"].astype("string").str.lower().fillna("")
    user = df["user.name"].astype("string").str.lower().fillna("")
    service = user.str.startswith("nt authority\\") | user.str.endswith("$")
    seed = parent.isin(SHELLS) & (name != "conhost.exe") & ~service
    seed |= _outside_system(df["process.executable"]) | _outside_system(df["process.parent.executable"])
    seed |= name.isin(["psexesvc.exe"]) | parent.isin(["psexesvc.exe"])
    cmd = df["process.command_line"].astype("string").str.lower().fillna("")
    launches_powershell = name.isin(["powershell.exe", "pwsh.exe"]) | cmd.str.contains(r"\bpowershell|\bpwsh", regex=True)
    seed |= launches_powershell & cmd.str.contains(STAGER, regex=True)
    label = seed.to_numpy().copy()
    ids = df["process.entity_id"].astype("string").fillna("").to_numpy()
    pids = (df["dataset"].astype(str) + "|" + df["host.name"].astype("string").fillna("") + "|" + df["process.pid"].astype("string").fillna("")).to_numpy()
    parent_ids = df["process.parent.entity_id"].astype("string").fillna("").to_numpy()
    parent_pids = (df["dataset"].astype(str) + "|" + df["host.name"].astype("string").fillna("") + "|" + df["process.parent.pid"].astype("string").fillna("")).to_numpy()
    for _ in range(8):  # walk down the tree a few generations
        tainted = set(ids[label]) - {""} | set(pids[label])
        new = label | np.isin(parent_ids, list(tainted)) | np.isin(parent_pids, list(tainted))
        if (new == label).all():
            break
        label = new
    return label


def otrf_lab(df: pd.DataFrame) -> np.ndarray:
    """The lab each OTRF event was captured in, the unit of the leave-lab-out split.

    The DNS domain of its host (`theshire.local`, `pandalab.com`, `shire.com`, ...); hosts named without
    one are grouped by the year of their dataset's first event (`2022-standalone`: the PEDRO01 /
    PEDRO-COMPUTER captures of 2022). No host, and no dataset, is in two labs.
    """
    host = df["host.name"].astype("string").str.lower().fillna("")
    domain = host.str.split(".", n=1).str[1]
    first = pd.to_datetime(df["@timestamp"], errors="coerce", utc=True).groupby(df["dataset"]).transform("min")
    year = first.dt.year.astype("Int64").astype("string").fillna("unknown")
    return domain.fillna(year + "-standalone").to_numpy(dtype=object)


def otrf_metadata(data: Path) -> pd.DataFrame:
    """One row per OTRF dataset: dataset path (no extension), title, ATT&CK ids."""
    meta = pd.read_csv(Path(data) / OTRF_META, dtype=str).fillna("")
    meta["dataset"] = meta["dataset_path"].str.replace(r"\.(zip|tar\.gz|json)$", "", regex=True)
    return meta.drop_duplicates("dataset")


def source_records(names: list[str], rows: dict[str, int] | None = None) -> list[dict]:
    """Manifest entries (name, licence, path) of the named sources."""
    out = []
    for name in names:
        repo, licence, path = SOURCES[name]
        out.append({"name": name, "repo": repo, "licence": licence, "path": path, "rows": (rows or {}).get(name)})
    return out
