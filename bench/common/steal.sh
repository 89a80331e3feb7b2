# Sourced by the benchmark scripts: how much CPU time the hypervisor gave to other guests
# while the benchmark ran (the "steal" column of /proc/stat). On a shared virtual machine a
# few percent of steal already moves two-thread timings by more than the differences being
# measured, so the scripts print it beside their ratios.
#   steal_mark            remember the counters now
#   steal_report          print the steal since steal_mark, as a share of all CPU time
_steal_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9 }' /proc/stat; }
steal_mark() { read -r _STEAL_TOTAL0 _STEAL0 < <(_steal_ticks); }
steal_report() {
  local total steal
  read -r total steal < <(_steal_ticks)
  awk -v t="$((total - _STEAL_TOTAL0))" -v s="$((steal - _STEAL0))" 'BEGIN {
    share = t > 0 ? 100 * s / t : 0
    warning = (share > 5) ? " (other guests shared these cores: timings and ratios are unreliable; run again when quiet)" : ""
    printf "CPU steal during this run: %.1f %% of the CPU time%s\n", share, warning
  }'
}
