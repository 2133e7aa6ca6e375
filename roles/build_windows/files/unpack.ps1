# Unpacks the release bundle (release.tar, the one file sent to this builder) into its folder
# <work>\bundle\<bundle id>, once per content, as bundle.py does on a Linux builder; keeps the $Keep most recent.
# The controller computed the share's input digests from this very file: its sha256 must match before anything is
# unpacked, and the controller already refused a bundle with anything but relative regular files and folders.
# Result: dir (the unpacked bundle), unpacked (whether this run unpacked it), removed (older bundles pruned).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $Bundle,
    [Parameter(Mandatory = $true)] [string] $Dest,
    [Parameter(Mandatory = $true)] [string] $Sha256,
    [int] $Keep = 2
)
# Windows PowerShell turns a native command's redirected stderr into errors: failures are judged by exit codes
$ErrorActionPreference = 'Continue'
# scratch space of the builder, like the copy: unpacking is never a change of the release
$Ansible.Changed = $false

$hash = (Get-FileHash -LiteralPath $Bundle -Algorithm SHA256 -ErrorAction Stop).Hash.ToLowerInvariant()
if ($hash -ne $Sha256.ToLowerInvariant()) {
    throw "${Bundle}: sha256 $hash, but the share was computed from the bundle with sha256 $Sha256 (was release_prepare run again meanwhile?)"
}
$base = Split-Path -Parent $Dest
$unpacked = $false
if (-not (Test-Path -LiteralPath $Dest -PathType Container)) {
    $null = New-Item -ItemType Directory -Force -Path $base -ErrorAction Stop
    # a temporary folder renamed into place: a reader never sees half a bundle, an interrupted run leaves no tree
    $tmp = Join-Path $base ('.unpack-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $tmp -ErrorAction Stop
    try {
        # bsdtar, part of Windows since Server 2019 (build 17763)
        $log = & "$env:SystemRoot\System32\tar.exe" -x -f $Bundle -C $tmp 2>&1 | Out-String
        if ($LASTEXITCODE -ne 0) { throw "tar -x -f $Bundle failed with exit code ${LASTEXITCODE}: $($log.Trim())" }
        Rename-Item -LiteralPath $tmp -NewName (Split-Path -Leaf $Dest) -ErrorAction Stop
        $unpacked = $true
    }
    catch {
        Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
        throw
    }
}
# most recently used first when pruning
(Get-Item -LiteralPath $Dest).LastWriteTime = Get-Date
$removed = @(Get-ChildItem -LiteralPath $base -Directory | Where-Object { -not $_.Name.StartsWith('.') } |
    Sort-Object LastWriteTime -Descending | Select-Object -Skip $Keep | Where-Object { $_.FullName -ne $Dest })
foreach ($old in $removed) { Remove-Item -LiteralPath $old.FullName -Recurse -Force -ErrorAction SilentlyContinue }
$Ansible.Result = @{ dir = $Dest; unpacked = $unpacked; removed = @($removed | ForEach-Object { $_.FullName }) }
