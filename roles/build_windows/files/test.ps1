# Runs each built image's PowerShell smoke tests (commands prepared on the controller from the family's
# tests.yml) in a fresh container, removed afterwards. Nothing changes; a dry run tests nothing.
# Result: one item per image (key, image_id, passed, tests with name, passed, exit_code, output, reason).
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [object[]] $Jobs,
    [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [object[]] $Images,
    [Parameter(Mandatory = $true)] [string] $Docker
)
# Windows PowerShell turns a native command's redirected stderr into errors: failures are judged by exit codes
$ErrorActionPreference = 'Continue'
$Ansible.Changed = $false
$byKey = @{}
foreach ($job in $Jobs) { $byKey[$job.key] = $job }

function Invoke-SmokeTest($Image, $Test, [string] $Name) {
    $argv = @('run', '-d', '--name', $Name, '--network', 'none', $Image)
    if ($Test.command) { $argv += @($Test.command) }
    $null = & $Docker @argv 2>&1
    if ($LASTEXITCODE -ne 0) { return [ordered]@{ name = $Test.name; passed = $false; exit_code = $null; output = ''; reason = 'container did not start' } }
    try {
        $deadline = (Get-Date).AddSeconds($Test.timeout)
        do {
            Start-Sleep -Milliseconds 500
            $state = @(& $Docker container inspect $Name | Out-String | ConvertFrom-Json)[0].State
        } while ($state.Running -and (Get-Date) -lt $deadline)
        if ($state.Running) {
            return [ordered]@{ name = $Test.name; passed = $false; exit_code = $null; output = ''; reason = "timed out after $($Test.timeout)s" }
        }
        $output = & $Docker logs $Name 2>&1 | Out-String
    }
    finally { & $Docker rm -f $Name 2>&1 | Out-Null }
    $tail = if ($output.Length -gt 1000) { $output.Substring($output.Length - 1000) } else { $output }
    $code = [int]$state.ExitCode
    if ($code -ne $Test.exit_code) {
        return [ordered]@{ name = $Test.name; passed = $false; exit_code = $code; output = $tail; reason = "exit code $code, expected $($Test.exit_code)" }
    }
    # the patterns are the family's Python regexes; the ones tests.yml uses read the same in .NET
    if ($Test.stdout -and $output -notmatch $Test.stdout) {
        return [ordered]@{ name = $Test.name; passed = $false; exit_code = $code; output = $tail; reason = "output does not match '$($Test.stdout)'" }
    }
    [ordered]@{ name = $Test.name; passed = $true; exit_code = $code; output = $tail; reason = '' }
}

$results = foreach ($img in $Images) {
    if ($img.status -notin @('built', 'unchanged') -or $Ansible.CheckMode) { continue }
    $i = 0
    $tests = foreach ($t in $byKey[$img.key].tests) {
        $i++
        [pscustomobject](Invoke-SmokeTest $img.image_id $t ("buildfarm-test-{0}-{1}" -f $PID, $i))
    }
    $tests = @($tests)
    [pscustomobject]@{ key = $img.key; image_id = $img.image_id; passed = -not ($tests | Where-Object { -not $_.passed })
        cached = $false; tests = $tests; failed_tests = @($tests | Where-Object { -not $_.passed } | ForEach-Object { $_.name }) }
}
$Ansible.Result = @($results)
