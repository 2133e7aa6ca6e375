# Pushes every tag of the images that passed their smoke tests, skipping a tag whose registry digest is already
# one of the local image's repository digests; retries transient failures.
# Result: one item per image (key, image_id, tags with ref, status pushed | unchanged | would-push | failed, digest).
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [object[]] $Images,
    [Parameter(Mandatory = $true)] [string] $Docker,
    [Parameter(Mandatory = $true)] [string] $ConfigDir,
    [int] $Retries = 3
)
# Windows PowerShell turns a native command's redirected stderr into errors: failures are judged by exit codes
$ErrorActionPreference = 'Continue'
$env:DOCKER_CONFIG = $ConfigDir
$Ansible.Changed = $false

function Get-RemoteDigest([string] $Ref) {
    $json = & $Docker manifest inspect --verbose $Ref 2>$null | Out-String
    if ($LASTEXITCODE -ne 0) { return '' }
    $m = @($json | ConvertFrom-Json)[0]
    return "$($m.Descriptor.digest)"
}

$results = foreach ($img in $Images) {
    $local = @(& $Docker image inspect $img.image_id | Out-String | ConvertFrom-Json)[0].RepoDigests
    $tags = foreach ($ref in $img.tags) {
        $repo = $ref.Substring(0, $ref.LastIndexOf(':'))
        $remote = Get-RemoteDigest $ref
        if ($remote -and ("$repo@$remote" -in @($local))) {
            [pscustomobject]@{ ref = $ref; status = 'unchanged'; digest = $remote; error = '' }
            continue
        }
        if (-not $PSCmdlet.ShouldProcess($ref, 'docker push')) {
            [pscustomobject]@{ ref = $ref; status = 'would-push'; digest = ''; error = '' }
            continue
        }
        $attempt = 0
        do {
            $attempt++
            $log = & $Docker push $ref 2>&1 | Out-String
            $ok = $LASTEXITCODE -eq 0
            if (-not $ok -and $attempt -le $Retries) { Start-Sleep -Seconds ([math]::Pow(2, $attempt)) }
        } while (-not $ok -and $attempt -le $Retries)
        if ($ok -and $log -match 'digest: (sha256:[0-9a-f]{64})') {
            $Ansible.Changed = $true
            [pscustomobject]@{ ref = $ref; status = 'pushed'; digest = $Matches[1]; error = '' }
        }
        else {
            [pscustomobject]@{ ref = $ref; status = 'failed'; digest = ''; error = $log.Trim() }
        }
    }
    $tags = @($tags)
    [pscustomobject]@{ key = $img.key; image_id = $img.image_id; ok = -not ($tags | Where-Object { $_.status -eq 'failed' })
        tags = $tags }
}
$Ansible.Result = @($results)
