# Pushes every tag of the images that passed their smoke tests, skipping a tag that already serves the image: its
# manifest, or the image manifest of the OCI index windows_attest made of it (either way, the config is the local
# image, whose id on Windows' store is its config digest); retries transient failures. The tags are bare image
# manifests afterwards: windows_attest (on the controller) makes each the OCI index of the image and its attestation.
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

# The manifest digest under which the tag serves the image whose config is $ImageId ('' when it serves none):
# `manifest inspect --verbose` lists an index's manifests with their documents (the attestation's config is another).
function Get-RemoteDigest([string] $Ref, [string] $ImageId) {
    $json = & $Docker manifest inspect --verbose $Ref 2>$null | Out-String
    if ($LASTEXITCODE -ne 0) { return '' }
    foreach ($m in @($json | ConvertFrom-Json)) {
        $doc = if ($m.OCIManifest) { $m.OCIManifest } else { $m.SchemaV2Manifest }
        if ($doc -and "$($doc.config.digest)" -eq $ImageId) { return "$($m.Descriptor.digest)" }
    }
    return ''
}

$results = foreach ($img in $Images) {
    $tags = foreach ($ref in $img.tags) {
        $remote = Get-RemoteDigest $ref $img.image_id
        if ($remote) {
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
