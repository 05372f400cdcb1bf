@echo off
rem Shell completion for `kubectl hpccache` on Windows (kubectl 1.26 or newer): kubectl runs
rem this with the words typed after `hpccache`; the plugin next to it (or on PATH) answers.
if exist "%~dp0kubectl-hpccache.exe" (
  "%~dp0kubectl-hpccache.exe" __complete %*
) else (
  kubectl-hpccache.exe __complete %*
)
