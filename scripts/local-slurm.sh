#!/usr/bin/env bash
# A real single-node SLURM on this Debian machine, for the test suite's --executor slurm run.
#
#   scripts/local-slurm.sh start   install (if needed) and start munged, slurmctld and slurmd
#   scripts/local-slurm.sh stop    stop the daemons this script started (by their pid files)
#   scripts/local-slurm.sh status  sinfo
#
# Needs root and apt (Debian's slurm-wlm and munge packages). The node is this machine, with its
# real CPU count and a little less than its memory; one partition `cpu`; no accounting database
# (so Snakemake's slurm plugin must run with --slurm-no-account and read job states from squeue,
# as workflow/profiles/slurm-local does). No GPU is declared: there is none to schedule here.
set -euo pipefail

STATE=${NASLID_SLURM_STATE:-/var/tmp/naslid-slurm}
MUNGE_PID=/run/munge/naslid-munged.pid  # munged runs as the munge user: its pid file lives where it may write
CONF=/etc/slurm/slurm.conf

die() { echo "local-slurm: $*" >&2; exit 1; }

install_packages() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return
    [ "$(id -u)" = 0 ] || die "installing slurm-wlm and munge needs root; run as root or install them first"
    command -v apt-get >/dev/null || die "apt-get not found: this script installs SLURM on Debian/Ubuntu only"
    echo "local-slurm: installing slurm-wlm and munge" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
    local host cpus mem_mb
    host=$(hostname -s)
    cpus=$(nproc)
    mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    mkdir -p /etc/slurm "$STATE"/{ctld,d,log}
    cat > "$CONF" <<CONF
# Written by naslid's scripts/local-slurm.sh: a single-node test cluster.
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        runuser -u munge -- munged --pid-file="$MUNGE_PID"
    fi
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.1; done
    die "munged did not start (check /var/log/munge/munged.log)"
}

start() {
    install_packages
    write_config
    start_munge
    [ -f "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null || slurmctld
    [ -f "$STATE/slurmd.pid" ] && kill -0 "$(cat "$STATE/slurmd.pid")" 2>/dev/null || slurmd
    for _ in $(seq 100); do
        if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
            echo "local-slurm: node $(hostname -s) idle ($(nproc) CPUs); logs in $STATE/log" >&2
            return
        fi
        scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
        sleep 0.2
    done
    die "the node did not become idle; see $STATE/log/slurmctld.log and $STATE/log/slurmd.log"
}

stop() {
    # By the pid files this script's daemons wrote, never by process name.
    for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$MUNGE_PID"; do
        [ -f "$pidfile" ] || continue
        local pid
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$pidfile"
    done
    # The config start wrote goes too: with it, every SLURM client (and so every Snakemake start, whose
    # slurm plugin asks `scontrol show config`) waits 9 s for a controller that is gone.
    if head -n 1 "$CONF" 2>/dev/null | grep -q "^# Written by naslid's scripts/local-slurm.sh"; then
        rm -f "$CONF"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) sinfo ;;
    *) die "usage: $0 start|stop|status" ;;
esac
