"""Dual-use commands administrators run for ordinary reasons, and sysmon-modular's benign patterns.

Admins use LOLBins too: without these, a model learns "LOLBin means attack". The admin commands are
written by hand from everyday administration (inventory, network checks, service and task
management, certificate and hash checks, updates, file copies) and split in two disjoint halves by
binary and wording: `ADMIN_TRAIN` may be used for training, `ADMIN_HOLDOUT` only for evaluation.
Both are run as an interactive admin at High integrity from a shell, exactly the context in which
the Atomic tests ran, so they also measure whether the model learnt that context.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ADMIN_TRAIN = [
    ("cmd.exe", "ipconfig.exe", "ipconfig /all"),
    ("cmd.exe", "ipconfig.exe", "ipconfig /flushdns"),
    ("cmd.exe", "net.exe", "net use"),
    ("cmd.exe", "net.exe", "net localgroup administrators"),
    ("cmd.exe", "sc.exe", "sc query wuauserv"),
    ("cmd.exe", "sc.exe", "sc config spooler start= demand"),
    ("cmd.exe", "schtasks.exe", "schtasks /query /fo LIST /v"),
    ("cmd.exe", "tasklist.exe", "tasklist /svc"),
    ("cmd.exe", "systeminfo.exe", "systeminfo"),
    ("cmd.exe", "reg.exe", r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall /s"),
    ("cmd.exe", "gpupdate.exe", "gpupdate /force"),
    ("cmd.exe", "gpresult.exe", "gpresult /r"),
    ("cmd.exe", "certutil.exe", r"certutil -hashfile C:\Users\admin\Downloads\setup.msi SHA256"),
    ("cmd.exe", "certutil.exe", "certutil -store my"),
    ("cmd.exe", "robocopy.exe", r"robocopy D:\Projects \\fileserver\backup\Projects /MIR /R:2 /W:5"),
    ("cmd.exe", "xcopy.exe", r"xcopy C:\Tools D:\Tools /E /I /Y"),
    ("cmd.exe", "netstat.exe", "netstat -ano"),
    ("cmd.exe", "ping.exe", "ping -n 4 fileserver"),
    ("cmd.exe", "nslookup.exe", "nslookup intranet.corp.local"),
    ("cmd.exe", "wmic.exe", "wmic logicaldisk get name,freespace,size"),
    ("cmd.exe", "wmic.exe", "wmic os get caption,version"),
    ("cmd.exe", "icacls.exe", r"icacls D:\Shares\Finance /grant FINANCE\Accountants:(OI)(CI)M"),
    ("cmd.exe", "dism.exe", "dism /online /cleanup-image /restorehealth"),
    ("cmd.exe", "sfc.exe", "sfc /scannow"),
    ("cmd.exe", "chkdsk.exe", "chkdsk C: /scan"),
    ("cmd.exe", "bcdedit.exe", "bcdedit /enum"),
    ("cmd.exe", "w32tm.exe", "w32tm /resync"),
    ("cmd.exe", "shutdown.exe", "shutdown /r /t 60 /c \"Patch reboot\""),
    ("explorer.exe", "mmc.exe", r"C:\Windows\system32\mmc.exe C:\Windows\system32\compmgmt.msc"),
    ("explorer.exe", "regedit.exe", "regedit.exe"),
    ("powershell.exe", "powershell.exe", "powershell.exe -NoProfile -Command Get-Service | Where-Object Status -eq Running"),
    ("powershell.exe", "powershell.exe", "powershell -Command \"Get-ChildItem C:\\Logs -Recurse | Measure-Object -Property Length -Sum\""),
    ("explorer.exe", "powershell.exe", r"powershell.exe -ExecutionPolicy RemoteSigned -File C:\Scripts\Backup-Configs.ps1"),
    ("cmd.exe", "msiexec.exe", r"msiexec /i C:\Installers\7z2301-x64.msi /qn /norestart"),
    ("cmd.exe", "net.exe", "net stop spooler"),
    ("cmd.exe", "net.exe", "net start spooler"),
    ("cmd.exe", "whoami.exe", "whoami /groups"),
    ("cmd.exe", "hostname.exe", "hostname"),
    ("cmd.exe", "arp.exe", "arp -a"),
    ("cmd.exe", "route.exe", "route print"),
]
ADMIN_HOLDOUT = [
    ("cmd.exe", "netsh.exe", "netsh interface ip show config"),
    ("cmd.exe", "netsh.exe", "netsh advfirewall show allprofiles state"),
    ("cmd.exe", "tracert.exe", "tracert -d 10.0.0.1"),
    ("cmd.exe", "pathping.exe", "pathping mail.corp.local"),
    ("cmd.exe", "nltest.exe", "nltest /sc_query:CORP"),
    ("cmd.exe", "klist.exe", "klist purge"),
    ("cmd.exe", "quser.exe", "quser"),
    ("cmd.exe", "manage-bde.exe", "manage-bde -status C:"),
    ("cmd.exe", "fsutil.exe", "fsutil volume diskfree C:"),
    ("cmd.exe", "wevtutil.exe", "wevtutil qe System /c:20 /rd:true /f:text"),
    ("cmd.exe", "bitsadmin.exe", "bitsadmin /list /allusers"),
    ("cmd.exe", "expand.exe", r"expand -F:* C:\Drivers\netdriver.cab C:\Drivers\net"),
    ("cmd.exe", "findstr.exe", r"findstr /s /i \"error\" C:\Logs\*.log"),
    ("cmd.exe", "takeown.exe", r"takeown /f D:\Old\Profile /r /d y"),
    ("cmd.exe", "cipher.exe", r"cipher /w:C:\Temp"),
    ("cmd.exe", "auditpol.exe", "auditpol /get /category:*"),
    ("cmd.exe", "driverquery.exe", "driverquery /v"),
    ("cmd.exe", "diskpart.exe", r"diskpart /s C:\Scripts\list-disks.txt"),
    ("cmd.exe", "cscript.exe", r"cscript //nologo C:\Windows\System32\slmgr.vbs /dlv"),
    ("cmd.exe", "mstsc.exe", "mstsc /v:jumphost01"),
    ("cmd.exe", "rundll32.exe", "rundll32.exe printui.dll,PrintUIEntry /in /n\\\\printsrv\\Floor2"),
    ("cmd.exe", "reg.exe", r"reg export HKCU\Software\SimonTatham\PuTTY C:\Backup\putty.reg"),
    ("cmd.exe", "schtasks.exe", r"schtasks /create /tn NightlyBackup /tr C:\Scripts\backup.cmd /sc daily /st 02:00 /ru SYSTEM"),
    ("cmd.exe", "sc.exe", "sc qc WinRM"),
    ("cmd.exe", "certreq.exe", r"certreq -submit -config ca01\CorpCA C:\Certs\web01.req C:\Certs\web01.cer"),
    ("cmd.exe", "wmic.exe", "wmic qfe list brief"),
    ("cmd.exe", "net.exe", "net share"),
    ("cmd.exe", "net.exe", "net user jdoe /domain"),
    ("powershell.exe", "powershell.exe", "powershell -NoProfile -Command Get-HotFix | Sort-Object InstalledOn"),
    ("powershell.exe", "powershell.exe", "powershell.exe -Command Test-NetConnection sql01 -Port 1433"),
    ("explorer.exe", "powershell.exe", "powershell.exe -NoLogo -Command Restart-Service -Name Spooler"),
    ("explorer.exe", "powershell.exe", r"powershell -ExecutionPolicy Bypass -File C:\Scripts\Inventory.ps1"),
    ("powershell.exe", "powershell.exe", "powershell -Command \"Get-WinEvent -LogName Security -MaxEvents 50\""),
    ("cmd.exe", "certutil.exe", "certutil -verify -urlfetch C:\\Certs\\web01.cer"),
    ("cmd.exe", "msiexec.exe", "msiexec /x {23170F69-40C1-2702-2301-000001000000} /qn"),
    ("cmd.exe", "wusa.exe", r"wusa C:\Updates\windows10.0-kb5034441-x64.msu /quiet /norestart"),
    ("cmd.exe", "taskkill.exe", "taskkill /im notepad.exe /f"),
    ("cmd.exe", "attrib.exe", r"attrib -r D:\Shares\Public\readme.txt"),
    ("cmd.exe", "compact.exe", r"compact /c /s:D:\Archive"),
    ("explorer.exe", "control.exe", "control.exe printers"),
]
# A second training batch of dual-use commands, worded apart from ADMIN_HOLDOUT and ADMIN_VALIDATION.
ADMIN_TRAIN_MORE = [
    ("cmd.exe", "ipconfig.exe", "ipconfig /release"),
    ("cmd.exe", "ipconfig.exe", "ipconfig /renew"),
    ("cmd.exe", "ipconfig.exe", "ipconfig /displaydns"),
    ("cmd.exe", "net.exe", r"net use Z: \\fileserver\projects /persistent:yes"),
    ("cmd.exe", "net.exe", "net accounts"),
    ("cmd.exe", "net.exe", "net session"),
    ("cmd.exe", "net.exe", "net localgroup \"Remote Desktop Users\""),
    ("cmd.exe", "sc.exe", "sc queryex type= service state= all"),
    ("cmd.exe", "sc.exe", "sc start BITS"),
    ("cmd.exe", "schtasks.exe", r'schtasks /change /tn "\Corp\InventoryScan" /disable'),
    ("cmd.exe", "schtasks.exe", r'schtasks /delete /tn "\Corp\OldReport" /f'),
    ("cmd.exe", "reg.exe", r"reg query HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion /v ProductName"),
    ("cmd.exe", "reg.exe", r"reg add HKLM\SOFTWARE\Corp\Agent /v LogLevel /t REG_SZ /d verbose /f"),
    ("cmd.exe", "reg.exe", r"reg delete HKCU\Software\Corp\Cache /f"),
    ("cmd.exe", "wmic.exe", "wmic cpu get name,numberofcores"),
    ("cmd.exe", "wmic.exe", "wmic computersystem get model,manufacturer"),
    ("cmd.exe", "wmic.exe", "wmic nicconfig where ipenabled=true get ipaddress,macaddress"),
    ("cmd.exe", "certutil.exe", "certutil -urlcache -list"),
    ("cmd.exe", "certutil.exe", r"certutil -dump C:\Certs\root.cer"),
    ("cmd.exe", "tasklist.exe", "tasklist /v /fi \"imagename eq outlook.exe\""),
    ("cmd.exe", "netstat.exe", "netstat -rn"),
    ("cmd.exe", "ping.exe", "ping -t 10.0.0.1"),
    ("cmd.exe", "nslookup.exe", "nslookup -type=mx corp.local"),
    ("cmd.exe", "robocopy.exe", r"robocopy C:\Users\jdoe\Documents \\nas01\home\jdoe /E /XO /LOG:C:\Logs\copy.log"),
    ("cmd.exe", "xcopy.exe", r"xcopy \\deploy\share\fonts C:\Windows\Fonts /Y"),
    ("cmd.exe", "msiexec.exe", r"msiexec /i \\deploy\share\agent.msi /qn /l*v C:\Logs\agent-install.log"),
    ("cmd.exe", "gpresult.exe", r"gpresult /h C:\Reports\gp.html /f"),
    ("cmd.exe", "whoami.exe", "whoami /priv"),
    ("cmd.exe", "systeminfo.exe", "systeminfo /fo csv"),
    ("cmd.exe", "shutdown.exe", "shutdown /a"),
    ("cmd.exe", "bcdedit.exe", "bcdedit /timeout 5"),
    ("cmd.exe", "icacls.exe", r"icacls C:\Scripts /reset /t"),
    ("cmd.exe", "dism.exe", "dism /online /get-packages"),
    ("cmd.exe", "w32tm.exe", "w32tm /query /status"),
    ("powershell.exe", "powershell.exe", "powershell -NoProfile -Command Get-Process | Sort-Object CPU -Descending | Select-Object -First 10"),
    ("powershell.exe", "powershell.exe", "powershell.exe -Command \"Get-LocalGroupMember -Group Administrators\""),
    ("powershell.exe", "powershell.exe", r"powershell -Command Copy-Item C:\Configs\app.json \\nas01\backup\app.json"),
    ("explorer.exe", "powershell.exe", r"powershell.exe -ExecutionPolicy Bypass -File \\deploy\scripts\Map-Drives.ps1"),
    ("explorer.exe", "cmd.exe", r'"C:\Windows\system32\cmd.exe" /k cd /d C:\Projects'),
    ("explorer.exe", "mmc.exe", r'"C:\Windows\system32\mmc.exe" "C:\Windows\system32\eventvwr.msc"'),
]
# Threshold validation only (never trained on, not a test): more dual-use commands, worded apart from both halves above.
ADMIN_VALIDATION = [
    ("cmd.exe", "dcdiag.exe", "dcdiag /test:replications"),
    ("cmd.exe", "repadmin.exe", "repadmin /replsummary"),
    ("cmd.exe", "dsquery.exe", 'dsquery user -name "Smith*"'),
    ("cmd.exe", "powercfg.exe", r"powercfg /batteryreport /output C:\Reports\battery.html"),
    ("cmd.exe", "pnputil.exe", "pnputil /enum-drivers"),
    ("cmd.exe", "where.exe", "where python"),
    ("cmd.exe", "setx.exe", r'setx JAVA_HOME "C:\Program Files\Java\jdk-17"'),
    ("cmd.exe", "vssadmin.exe", "vssadmin list shadows"),
    ("cmd.exe", "wbadmin.exe", "wbadmin get versions"),
    ("cmd.exe", "esentutl.exe", r"esentutl /mh C:\Windows\SoftwareDistribution\DataStore\DataStore.edb"),
    ("cmd.exe", "dnscmd.exe", "dnscmd dc01 /enumzones"),
    ("cmd.exe", "net.exe", r"net view \\fileserver"),
    ("cmd.exe", "net.exe", r"net time \\dc01"),
    ("cmd.exe", "query.exe", "query session"),
    ("cmd.exe", "tzutil.exe", "tzutil /g"),
    ("cmd.exe", "sc.exe", "sc stop W32Time"),
    ("cmd.exe", "schtasks.exe", r'schtasks /run /tn "\Microsoft\Windows\Defrag\ScheduledDefrag"'),
    ("cmd.exe", "reg.exe", r"reg add HKCU\Software\Policies\Microsoft\Office\16.0\Common /v QMEnable /t REG_DWORD /d 0 /f"),
    ("cmd.exe", "certutil.exe", "certutil -viewstore -enterprise root"),
    ("cmd.exe", "msiexec.exe", r"msiexec /fa C:\Installers\agent.msi"),
    ("cmd.exe", "dism.exe", "dism /online /get-features /format:table"),
    ("cmd.exe", "defrag.exe", "defrag C: /O"),
    ("cmd.exe", "cleanmgr.exe", "cleanmgr /sagerun:1"),
    ("cmd.exe", "openfiles.exe", "openfiles /query /fo table"),
    ("cmd.exe", "getmac.exe", "getmac /v"),
    ("cmd.exe", "nbtstat.exe", "nbtstat -n"),
    ("cmd.exe", "wmic.exe", "wmic bios get serialnumber"),
    ("cmd.exe", "wmic.exe", "wmic product where \"name like 'Java%'\" get name,version"),
    ("cmd.exe", "curl.exe", "curl -I https://intranet.corp.local/health"),
    ("cmd.exe", "regsvr32.exe", r'regsvr32 /s "C:\Program Files\Vendor\Agent\agentshell.dll"'),
    ("cmd.exe", "rundll32.exe", "rundll32.exe sysdm.cpl,EditEnvironmentVariables"),
    ("powershell.exe", "powershell.exe", "powershell -NoProfile -Command Get-Disk | Format-Table"),
    ("powershell.exe", "powershell.exe", "powershell.exe -Command \"Get-ADUser -Filter 'Enabled -eq $false' | Select-Object Name\""),
    ("powershell.exe", "powershell.exe", "powershell -Command Invoke-WebRequest -Uri https://intranet.corp.local/api/status -UseBasicParsing"),
    ("explorer.exe", "powershell.exe", r"powershell.exe -NoExit -Command Set-Location C:\Projects"),
    ("explorer.exe", "cmd.exe", r'"C:\Windows\system32\cmd.exe"'),
    ("explorer.exe", "powershell.exe", r'"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"'),
    ("explorer.exe", "mmc.exe", r'"C:\Windows\system32\mmc.exe" "C:\Windows\system32\services.msc"'),
    ("explorer.exe", "eventvwr.exe", r'"C:\Windows\system32\eventvwr.exe"'),
    ("cmd.exe", "mountvol.exe", "mountvol"),
]
FOLDERS = {"powershell.exe": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\", "regedit.exe": "C:\\Windows\\",
           "explorer.exe": "C:\\Windows\\", "mstsc.exe": "C:\\Windows\\System32\\"}


ADMIN_COLUMNS = ["@timestamp", "host.name", "user.name", "event.code", "process.entity_id", "process.pid", "process.name",
                 "process.executable", "process.command_line", "process.parent.name", "process.parent.executable",
                 "process.parent.entity_id", "process.pe.original_file_name", "winlog.event_data.IntegrityLevel"]


def _exe(name: str) -> str:
    return FOLDERS.get(name, "C:\\Windows\\System32\\") + name


def admin_events(commands: list[tuple[str, str, str]], host: str = "ADMIN-WS01") -> pd.DataFrame:
    """Process events for (parent, child, command line) triples, run by an admin at High integrity."""
    rows = []
    for i, (parent, name, cmd) in enumerate(commands):
        rows.append({"@timestamp": pd.Timestamp("2026-01-05T09:00:00Z") + pd.Timedelta(minutes=i), "host.name": host,
                     "user.name": "CORP\\admin.jdoe", "event.code": "1", "process.entity_id": f"admin-{host}-{i}",
                     "process.pid": 4000 + i, "process.name": name, "process.executable": _exe(name),
                     "process.command_line": cmd, "process.parent.name": parent, "process.parent.executable": _exe(parent),
                     "process.parent.entity_id": f"admin-parent-{i}", "process.pe.original_file_name": name,
                     "winlog.event_data.IntegrityLevel": "High"})
    return pd.DataFrame(rows, columns=ADMIN_COLUMNS)


def sysmon_modular_events(data: Path) -> pd.DataFrame:
    """One event per exact benign CommandLine rule of sysmon-modular's process-creation exclusions."""
    rules = pd.read_csv(Path(data) / "lotl" / "sysmon_modular_benign_patterns" / "sysmon_modular_exclude_rules.csv", dtype=str)
    rules = rules[rules["event"].str.contains("Process", na=False) & (rules["field"] == "CommandLine") & (rules["condition"] == "is")]
    rows = []
    for i, cmd in enumerate(rules["value"].fillna("")):
        exe = cmd.split('"')[1] if cmd.startswith('"') else cmd.split(" ")[0]
        name = exe.rsplit("\\", 1)[-1].lower()
        rows.append({"host.name": "SYSMON-MODULAR", "user.name": "NT AUTHORITY\\SYSTEM", "event.code": "1",
                     "process.entity_id": f"smod-{i}", "process.pid": 100 + i, "process.name": name, "process.executable": exe,
                     "process.command_line": cmd, "process.parent.name": "services.exe" if name == "svchost.exe" else "svchost.exe",
                     "winlog.event_data.IntegrityLevel": "System"})
    return pd.DataFrame(rows)
