#!/usr/bin/env bash
# Snakemake in the current directory with the given arguments (what `make run` calls), after clearing
# the lock of a run that was killed outright. Snakemake removes its lock when it stops on SIGTERM or
# Ctrl-C, but a SIGKILL (OOM killer, a killed login session) leaves it, and the next run refuses to
# start. The lock is stale when no process of the killed run still works in this directory; if one
# does, this says which and stops, since two runs writing the same results would race.
#
#   scripts/run-workflow.sh --cores 2 --configfile config/config.yaml
#   scripts/run-workflow.sh --profile workflow/profiles/slurm --configfile config/paper/nb201-cifar10.yaml
set -euo pipefail

if compgen -G ".snakemake/locks/*" >/dev/null; then
    live=""
    for proc in /proc/[0-9]*; do
        pid=${proc#/proc/}
        [ "$pid" != "$$" ] && [ "$(readlink "$proc/cwd" 2>/dev/null)" = "$PWD" ] || continue
        if tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -qE '(^|/| )(snakemake|naslid)( |$)|-m naslid'; then
            live+=" $pid"
        fi
    done
    if [ -n "$live" ]; then
        echo "run-workflow: error: $PWD is locked and processes of a run still work here (pids$live);" \
            "wait for them to end or stop them, then run again" >&2
        exit 2
    fi
    echo "run-workflow: a killed run left its lock in $PWD/.snakemake/locks; no process of it is alive, unlocking" >&2
    snakemake --unlock "$@" >/dev/null
fi
exec snakemake "$@"
