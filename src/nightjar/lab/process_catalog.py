"""What runs on the office's Windows machines: the benign process background, by who starts it.

Each entry is (parent key, executable, command line template, weight). The parent key names a
long-lived process of the host (`explorer`, `services`, `schedule`, `dcom`, `ccm`, ...) or the
previous process of a short tree (`shell` = the cmd/powershell the admin just opened). Templates take
`{user}`, `{host}`, `{doc}`, `{n}`. Admins use dual-use tools for their real purpose (schtasks /query,
certutil -hashfile, Get-Service, net group ... /domain); SCCM runs PowerShell with -ExecutionPolicy
Bypass: the hard negatives of a LotL detector.
"""

from __future__ import annotations

SYS32 = "C:\\Windows\\System32"
PS = f"{SYS32}\\WindowsPowerShell\\v1.0\\powershell.exe"
CMD = f"{SYS32}\\cmd.exe"
CHROME = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
EDGE = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"
OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16"
TEAMS = "C:\\Program Files\\WindowsApps\\MSTeams_25031.805.3440.5290_x64__8wekyb3d8bbwe\\ms-teams.exe"
DEFENDER = "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe"

# the long-lived processes every host has: key -> (executable, command line)
ROOTS = {
    "services": (f"{SYS32}\\services.exe", "C:\\Windows\\system32\\services.exe"),
    "schedule": (f"{SYS32}\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule"),
    "dcom": (f"{SYS32}\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p"),
    "explorer": ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
    "outlook": (f"{OFFICE}\\OUTLOOK.EXE", f'"{OFFICE}\\OUTLOOK.EXE" '),
    "ccm": ("C:\\Windows\\CCM\\CcmExec.exe", "C:\\Windows\\CCM\\CcmExec.exe"),
}

USER = (  # started by the person at the desk
    ("explorer", CHROME, '"{exe}" --profile-directory=Default', 12),
    ("explorer", EDGE, '"{exe}" --single-argument https://{tenant}.sharepoint.com/sites/{dept}', 6),
    ("explorer", f"{OFFICE}\\WINWORD.EXE", '"{exe}" /n "C:\\Users\\{user}\\Documents\\{doc}.docx"', 5),
    ("explorer", f"{OFFICE}\\EXCEL.EXE", '"{exe}" "C:\\Users\\{user}\\OneDrive - Nightjar Lab\\{doc}.xlsx"', 5),
    ("explorer", f"{OFFICE}\\POWERPNT.EXE", '"{exe}" "C:\\Users\\{user}\\Documents\\{doc}.pptx"', 1.5),
    ("outlook", f"{OFFICE}\\WINWORD.EXE", '"{exe}" /n "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\Q7RZ2M1X\\{doc}.docx" /o ""', 2),
    ("outlook", CHROME, '"{exe}" --single-argument https://{tenant}.atlassian.net/browse/OPS-{n}', 2),
    ("explorer", f"{SYS32}\\notepad.exe", '"{exe}" C:\\Users\\{user}\\Desktop\\notes.txt', 2),
    ("explorer", "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe", '"{exe}" "C:\\Users\\{user}\\Downloads\\{doc}.pdf"', 2),
    ("explorer", f"{SYS32}\\SnippingTool.exe", '"{exe}"', 0.6),
    ("explorer", "C:\\Program Files\\7-Zip\\7zFM.exe", '"{exe}" "C:\\Users\\{user}\\Downloads\\{doc}.zip"', 0.5),
    ("browser", CHROME, '"{exe}" --type=renderer --lang=en-GB --renderer-client-id={n} --launch-time-ticks={n}0417', 10),
    ("browser", CHROME, '"{exe}" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-GB', 3),
    ("word", "C:\\Windows\\splwow64.exe", "C:\\Windows\\splwow64.exe 12288", 0.7),
)

ADMIN = (  # IT staff, for real work
    ("explorer", PS, '"{exe}" ', 3),
    ("shell", PS, '"{exe}" -NoProfile -Command "Get-Service -ComputerName FS01 | Where-Object Status -ne Running"', 2),
    ("shell", PS, '"{exe}" -NoProfile -Command "Get-ADUser -Filter \'Enabled -eq $false\' -SearchBase \'OU=Staff,DC=corp,DC=nightjar,DC=lab\'"', 1.5),
    ("shell", PS, '"{exe}" -Command "Get-WinEvent -LogName System -MaxEvents 50 | Format-Table -AutoSize"', 1),
    ("shell", PS, '"{exe}" -Command "Test-NetConnection FS01 -Port 445"', 1),
    ("explorer", CMD, '"{exe}" ', 3),
    ("shell", f"{SYS32}\\schtasks.exe", "schtasks /query /fo LIST /v", 1.5),
    ("shell", f"{SYS32}\\certutil.exe", 'certutil -hashfile "C:\\Users\\{user}\\Downloads\\{doc}.msi" SHA256', 1.2),
    ("shell", f"{SYS32}\\net.exe", "net user {other} /domain", 1.2),
    ("shell", f"{SYS32}\\net.exe", 'net group "Domain Admins" /domain', 0.5),
    ("shell", f"{SYS32}\\ipconfig.exe", "ipconfig /flushdns", 1),
    ("shell", f"{SYS32}\\nslookup.exe", "nslookup fs01.corp.nightjar.lab", 1),
    ("shell", f"{SYS32}\\gpupdate.exe", "gpupdate /force", 1),
    ("shell", f"{SYS32}\\sc.exe", "sc query wuauserv", 1),
    ("shell", f"{SYS32}\\wbem\\WMIC.exe", "wmic qfe list brief", 0.6),
    ("shell", f"{SYS32}\\whoami.exe", "whoami /groups", 0.6),
    ("shell", f"{SYS32}\\klist.exe", "klist purge", 0.5),
    ("shell", f"{SYS32}\\PING.EXE", "ping -n 4 10.20.0.11", 1.2),
    ("shell", f"{SYS32}\\tasklist.exe", "tasklist /svc", 0.8),
    ("shell", f"{SYS32}\\NETSTAT.EXE", "netstat -ano", 0.6),
    ("explorer", f"{SYS32}\\mstsc.exe", '"{exe}" /v:FS01.corp.nightjar.lab', 1),
    ("explorer", f"{SYS32}\\mmc.exe", '"{exe}" "C:\\Windows\\system32\\dsa.msc"', 0.8),
)

ENGINEER = (
    ("explorer", "C:\\Users\\{user}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe", '"{exe}" ', 2),
    ("explorer", CMD, '"{exe}" ', 1.5),
    ("shell", "C:\\Program Files\\Git\\cmd\\git.exe", "git pull --rebase", 2),
    ("shell", "C:\\Program Files\\Git\\cmd\\git.exe", "git status", 2),
    ("shell", "C:\\Program Files\\Python312\\python.exe", "python -m pytest -q tests", 1.5),
    ("shell", "C:\\Program Files\\Python312\\python.exe", "python -m pip install -r requirements.txt", 0.5),
    ("shell", "C:\\Program Files\\nodejs\\node.exe", '"node" node_modules\\.bin\\vite build', 0.5),
)

MACHINE = (  # the operating system and agents, on every host while it is on
    ("schedule", f"{SYS32}\\taskhostw.exe", "taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly", 3),
    ("schedule", f"{SYS32}\\taskhostw.exe", "taskhostw.exe Install $(Arg0)", 1),
    ("dcom", f"{SYS32}\\backgroundTaskHost.exe", '"{exe}" -ServerName:BackgroundTaskHost.WebAccountProvider', 2),
    ("dcom", f"{SYS32}\\wbem\\WmiPrvSE.exe", "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", 3),
    ("dcom", f"{SYS32}\\RuntimeBroker.exe", "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding", 2),
    ("services", f"{SYS32}\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k wsappx -p -s ClipSVC", 1.5),
    ("services", f"{SYS32}\\svchost.exe", "C:\\Windows\\System32\\svchost.exe -k NetworkService -p -s DoSvc", 1),
    ("services", "C:\\Windows\\servicing\\TrustedInstaller.exe", "C:\\Windows\\servicing\\TrustedInstaller.exe", 0.4),
    ("services", f"{SYS32}\\sppsvc.exe", "C:\\Windows\\system32\\sppsvc.exe", 0.5),
    ("schedule", DEFENDER, '"{exe}" SignatureUpdate -ScheduleJob -RestrictPrivileges', 1),
    ("schedule", DEFENDER, '"{exe}" -IdleTask -TaskName WdCacheMaintenance', 0.4),
    ("schedule", f"{SYS32}\\CompatTelRunner.exe", "C:\\Windows\\system32\\compattelrunner.exe -m:appraiser.dll -f:DoScheduledTelemetryRun", 0.4),
    ("schedule", "C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe", '"{exe}" /ua /installsource scheduler', 0.8),
    ("schedule", "C:\\Program Files\\Microsoft OneDrive\\OneDriveStandaloneUpdater.exe", '"{exe}" /reporting', 0.6),
    ("schedule", f"{SYS32}\\gpupdate.exe", "gpupdate.exe /target:computer", 0.3),
    ("services", f"{SYS32}\\SearchIndexer.exe", "C:\\Windows\\system32\\SearchIndexer.exe /Embedding", 0.6),
    ("ccm", PS, '"{exe}" -NoLogo -NonInteractive -NoProfile -ExecutionPolicy Bypass -File "C:\\Windows\\CCM\\SystemTemp\\{guid}.ps1"', 0.8),
    ("ccm", f"{SYS32}\\cmd.exe", 'C:\\Windows\\system32\\cmd.exe /c "C:\\Windows\\CCM\\ScriptStore\\Inventory.cmd"', 0.3),
)

SERVER = (  # extra on the domain controller and the file server
    ("schedule", f"{SYS32}\\wbadmin.exe", "wbadmin start backup -backupTarget:\\\\FS01\\Backup -include:C: -allCritical -quiet", 0.1),
    ("schedule", PS, '"{exe}" -NoProfile -File C:\\Scripts\\Cleanup-TempShares.ps1', 0.2),
    ("services", f"{SYS32}\\dfsrs.exe", "C:\\Windows\\system32\\DFSRs.exe", 0.1),
    ("schedule", "C:\\Windows\\System32\\Robocopy.exe", "robocopy D:\\Shares \\\\backup01\\shares /MIR /R:1 /W:1 /NP /LOG:C:\\Logs\\robo.log", 0.1),
)

DOCS = ("Q1 budget", "Minutes 2026-03", "Customer list", "Roadmap", "Invoice 2026-0392", "Travel expenses",
        "Contract draft v3", "Onboarding checklist", "Sales pipeline", "Board deck", "Release notes", "Timesheet")
