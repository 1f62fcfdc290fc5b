#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for tests: `cluster.sh start STATE_DIR` installs slurm-wlm and
# munge from Debian when missing, starts munged, slurmctld and slurmd with two fake GPUs, and waits until the
# node is idle; `cluster.sh stop STATE_DIR` cancels every job and stops the daemons it started. Needs root.
# Known traps (measured on these machines): no systemd or cgroups here (linuxproc, task/none); a GPU Gres without File=
# drains the node; the jobstep plugin drops SLURM_CONF, so the config lives at /etc/slurm/slurm.conf; without
# slurmdbd the executor plugin must poll squeue, which needs MinJobAge well above its status delay.
set -euo pipefail
command=${1:?usage: cluster.sh start|stop STATE_DIR}
state=${2:?usage: cluster.sh start|stop STATE_DIR}
conf=/etc/slurm/slurm.conf

stop() {
  scancel --user root >/dev/null 2>&1 || true
  for daemon in slurmd slurmctld munged; do
    pid_file="$state/$daemon.pid"
    if [ -f "$pid_file" ]; then
      pid=$(cat "$pid_file" 2>/dev/null || true)
      if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$pid_file"
    fi
  done
}

if [ "$command" = stop ]; then
  stop
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "cluster.sh: needs root (it installs packages and writes $conf)" >&2; exit 2; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null; }
fi

mkdir -p "$state"/{ctld,spool,log,munge} /etc/slurm /etc/munge /run/munge
touch "$state/gpu0" "$state/gpu1"   # fake GPU devices: a Gres needs File= entries, plain files do
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
chown root:root /etc/munge/munge.key /run/munge "$state/munge" 2>/dev/null || true
chmod 400 /etc/munge/munge.key
chmod 755 /run/munge

node=$(hostname -s)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))
cpus=$(nproc)
cat > "$conf" <<EOF
ClusterName=xlt-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
SchedulerParameters=sched_interval=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
cat > /etc/slurm/gres.conf <<EOF
Name=gpu File=$state/gpu[0-1]
EOF

stop  # leftovers of an earlier start with the same state dir
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  echo "cluster.sh: a slurmctld or slurmd is already running (another state dir?); stop it first" >&2
  exit 1
fi
munged --force --pid-file="$state/munged.pid" --socket=/run/munge/munge.socket.2 \
  --log-file="$state/log/munged.log" --seed-file="$state/munge/munged.seed"
slurmctld -i -f "$conf"
slurmd -f "$conf"
for _ in $(seq 60); do
  if sinfo --noheader --format=%t 2>/dev/null | grep -qx idle; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "cluster.sh: the node did not become idle; logs in $state/log" >&2
sinfo -R >&2 || true
tail -20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
exit 1
