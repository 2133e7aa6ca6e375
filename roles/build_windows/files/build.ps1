# Builds a Windows builder's whole share with the classic builder (BuildKit builds no Windows containers).
# Jobs come from buildfarm.images.windows_share (controller): context, tags, labels, the controller's input digest.
# An image whose input-digest label equals this run's digest (controller digest + parents' image ids) is kept.
# Result: one item per job, image_build's item shape (key, repo, tags, status built | unchanged | would-build | failed
# | skipped, image_id, input_digest, retagged, error, log_tail as lines, builder, started, finished, parents: name,
# key of a parent built in this share, image_id and the registry digest it was pulled as). windows_attest reads
# started, finished and parents for the provenance.
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [object[]] $Jobs,
    [Parameter(Mandatory = $true)] [string] $Label,
    [Parameter(Mandatory = $true)] [string] $Docker,
    [Parameter(Mandatory = $true)] [string] $ConfigDir,
    [string] $Isolation = ''
)
# Windows PowerShell turns a native command's redirected stderr into errors: failures are judged by exit codes
$ErrorActionPreference = 'Continue'
$env:DOCKER_BUILDKIT = '0'
$env:DOCKER_CONFIG = $ConfigDir
$sha = [System.Security.Cryptography.SHA256]::Create()

function Get-Image([string] $Ref) {
    $json = & $Docker image inspect $Ref 2>$null | Out-String
    if ($LASTEXITCODE -ne 0) { return $null }
    return @($json | ConvertFrom-Json)[0]
}

function Get-Now { (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') }

# The registry digest an external parent was pulled as: its RepoDigests entry of the reference's repository
# (docker.io's short names as the engine writes them), '' when it has none.
function Get-RepoDigest($Image, [string] $Ref) {
    $repo = $Ref -replace '@.*$', ''
    if ($repo -match '^(.*/)?[^/:]+:[^/]+$') { $repo = $repo.Substring(0, $repo.LastIndexOf(':')) }
    foreach ($known in @($Image.RepoDigests)) {
        $at = "$known".LastIndexOf('@')
        if ($at -gt 0 -and "$known".Substring(0, $at) -eq $repo) { return "$known".Substring($at + 1) }
    }
    return ''
}

$built = @{}  # "<repository name>:<tag>" -> image id, for entries built FROM an earlier entry of the share
$builtKey = @{}  # "<repository name>:<tag>" -> the key of the job that built it
$failedTags = @{}
$results = foreach ($job in $Jobs) {
    $r = [ordered]@{ key = $job.key; repo = $job.repo; tags = @($job.tags); status = 'failed'; image_id = ''
        input_digest = ''; retagged = @(); error = ''; log_tail = @(); builder = 'classic'; started = (Get-Now)
        finished = ''; parents = @() }
    try {
        $parents = foreach ($ref in $job.from) {
            $short = ($ref -split '/')[-1]
            if ($failedTags.ContainsKey($short)) { throw "parent entry failed: $ref" }
            if ($built.ContainsKey($short)) {
                # the classic builder takes a local image of the FROM name: point it at this share's build
                if ($PSCmdlet.ShouldProcess($ref, 'tag')) { & $Docker tag $built[$short] $ref | Out-Null }
                $r.parents += [pscustomobject]@{ name = $ref; key = $builtKey[$short]; image_id = $built[$short]
                    digest = '' }
                $built[$short]
                continue
            }
            # a base image updated upstream is a changed input: pull it (a no-op when current)
            if (-not $Ansible.CheckMode) {
                $log = & $Docker pull $ref 2>&1 | Out-String
                if ($LASTEXITCODE -ne 0) { throw "docker pull $ref failed: $($log.Trim())" }
            }
            $img = Get-Image $ref
            $id = if ($img) { $img.Id } else { "unresolved:$ref" }
            # the provenance and the base.digest annotation name the parent by the digest it was pulled as
            $r.parents += [pscustomobject]@{ name = $ref; key = ''; image_id = $id
                digest = $(if ($img) { Get-RepoDigest $img $ref } else { '' }) }
            $id
        }
        $text = $job.input_digest + "`n" + (@($parents) -join "`n")
        $r.input_digest = 'sha256:' + (($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes($text)) |
            ForEach-Object { $_.ToString('x2') }) -join '')
        $existing = Get-Image $job.tags[0]
        $current = if ($existing -and $existing.Config.Labels) { $existing.Config.Labels.PSObject.Properties[$Label] }
        if ($current -and $current.Value -eq $r.input_digest) {
            $r.status = 'unchanged'
            $r.image_id = $existing.Id
            foreach ($t in $job.tags) {
                $other = Get-Image $t
                if (-not $other -or $other.Id -ne $existing.Id) {
                    if ($PSCmdlet.ShouldProcess($t, 'tag')) { & $Docker tag $existing.Id $t | Out-Null }
                    $r.retagged += $t
                    $Ansible.Changed = $true
                }
            }
        }
        elseif (-not $PSCmdlet.ShouldProcess($job.key, 'docker build')) {
            $r.status = 'would-build'
        }
        else {
            $argv = @('build', '--label', "$Label=$($r.input_digest)", '-f', (Join-Path $job.context $job.dockerfile))
            # Ansible hands the module's dicts over as hashtables
            foreach ($k in $job.labels.Keys) { $argv += @('--label', "$k=$($job.labels[$k])") }
            foreach ($k in $job.build_args.Keys) { $argv += @('--build-arg', "$k=$($job.build_args[$k])") }
            if ($Isolation) { $argv += @('--isolation', $Isolation) }
            foreach ($t in $job.tags) { $argv += @('-t', $t) }
            $log = & $Docker @argv $job.context 2>&1 | Out-String
            $r.log_tail = @(($log -split "`r?`n") | Where-Object { $_.Trim() } | Select-Object -Last 20)
            if ($LASTEXITCODE -ne 0) { throw "docker build exited with $LASTEXITCODE" }
            $r.status = 'built'
            $r.image_id = (Get-Image $job.tags[0]).Id
            $Ansible.Changed = $true
        }
    }
    catch {
        $r.status = if ("$_" -like 'parent entry failed*') { 'skipped' } else { 'failed' }
        $r.error = "$_"
    }
    $r.finished = Get-Now
    foreach ($t in $job.tags) {
        $short = ($t -split '/')[-1]
        if ($r.status -in @('failed', 'skipped')) { $failedTags[$short] = $true }
        elseif ($r.image_id) { $built[$short] = $r.image_id; $builtKey[$short] = $job.key }
    }
    [pscustomobject]$r
}
$Ansible.Result = @($results)
