package io.pvecri.daemon.cgroup;

import java.util.OptionalLong;

/**
 * A snapshot of one cgroup's resource usage. Counters the host does not provide are 0.
 *
 * @param cpuUsageCoreNanos total CPU time consumed, in core-nanoseconds
 *                          (v1 {@code cpuacct.usage}; v2 {@code cpu.stat usage_usec} × 1000)
 * @param memoryUsageBytes  v1 {@code memory.usage_in_bytes}; v2 {@code memory.current}
 * @param workingSetBytes   usage minus inactive file cache, floored at 0 (what kubelet evicts on)
 * @param rssBytes          anonymous memory (v1 {@code total_rss}; v2 {@code anon})
 * @param pageFaults        v1 {@code total_pgfault}; v2 {@code pgfault}
 * @param majorPageFaults   v1 {@code total_pgmajfault}; v2 {@code pgmajfault}
 * @param memoryLimitBytes  hard memory limit, 0 when unlimited
 * @param oomKills          processes killed by the OOM killer in this cgroup, when the kernel
 *                          reports it (v2 {@code memory.events}; v1 {@code memory.oom_control}
 *                          on newer kernels)
 * @param pidsCurrent       tasks in the cgroup ({@code pids.current})
 */
public record CgroupStats(
        long cpuUsageCoreNanos,
        long memoryUsageBytes,
        long workingSetBytes,
        long rssBytes,
        long pageFaults,
        long majorPageFaults,
        long memoryLimitBytes,
        OptionalLong oomKills,
        long pidsCurrent) {

    /** Memory left before the limit (limit − working set, floored at 0); empty when unlimited. */
    public OptionalLong availableBytes() {
        return memoryLimitBytes > 0
                ? OptionalLong.of(Math.max(0, memoryLimitBytes - workingSetBytes))
                : OptionalLong.empty();
    }
}
