package io.pvecri.daemon.cgroup;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Renders {@link Resources} as LXC configuration lines for container creation:
 * {@code lxc.cgroup.<file> = <value>} for controllers bound to a v1 hierarchy and
 * {@code lxc.cgroup2.<file> = <value>} for controllers in the unified hierarchy, with the same
 * value semantics as {@link ProcessCgroup#apply}. Fields that are 0/empty produce no line.
 */
public final class LxcCgroupKeys {

    private static final String V1 = "lxc.cgroup.";
    private static final String V2 = "lxc.cgroup2.";

    private LxcCgroupKeys() {
    }

    /**
     * The {@code key = value} lines for {@code r} on {@code host}, CPU first, then memory, then
     * cpuset, then unified keys (sorted by name).
     *
     * @throws CgroupException if a requested controller is not available on the host, or unified
     *                         keys are requested on a host that is not pure cgroup v2
     */
    public static List<String> lines(CgroupHost host, Resources r) throws CgroupException {
        List<String> lines = new ArrayList<>();
        if (r.hasCpu()) {
            cpu(host.controllerVersion("cpu"), r, lines);
        }
        if (r.hasMemory()) {
            memory(host, r.memoryLimitBytes(), lines);
        }
        if (r.hasCpuset()) {
            String prefix = host.controllerVersion("cpuset") == CgroupVersion.V1 ? V1 : V2;
            addIfSet(lines, prefix + "cpuset.cpus", r.cpusetCpus());
            addIfSet(lines, prefix + "cpuset.mems", r.cpusetMems());
        }
        if (!r.unified().isEmpty()) {
            if (host.version() != CgroupVersion.V2) {
                throw new CgroupException("unified cgroup keys " + r.unified().keySet()
                        + " need a pure cgroup v2 host; this host is " + host.version());
            }
            for (Map.Entry<String, String> entry : r.unified().entrySet()) {
                lines.add(line(V2 + entry.getKey(), entry.getValue()));
            }
        }
        return List.copyOf(lines);
    }

    private static void cpu(CgroupVersion kind, Resources r, List<String> lines) {
        if (kind == CgroupVersion.V1) {
            if (r.cpuShares() != 0) {
                lines.add(line(V1 + "cpu.shares", r.cpuShares()));
            }
            if (r.cpuPeriod() != 0) {
                lines.add(line(V1 + "cpu.cfs_period_us", r.cpuPeriod()));
            }
            if (r.cpuQuota() != 0) {
                lines.add(line(V1 + "cpu.cfs_quota_us", r.cpuQuota()));
            }
            return;
        }
        if (r.cpuShares() != 0) {
            lines.add(line(V2 + "cpu.weight", CpuWeight.fromShares(r.cpuShares())));
        }
        if (r.cpuQuota() != 0 || r.cpuPeriod() != 0) {
            // A new cgroup has no quota, so a period alone means "max <period>".
            String quota = r.cpuQuota() > 0 ? Long.toString(r.cpuQuota()) : "max";
            lines.add(line(V2 + "cpu.max", r.cpuPeriod() != 0 ? quota + " " + r.cpuPeriod() : quota));
        }
    }

    private static void memory(CgroupHost host, long limitBytes, List<String> lines) throws CgroupException {
        if (host.controllerVersion("memory") == CgroupVersion.V1) {
            // A new cgroup starts unlimited, so the limit can go before memsw.
            lines.add(line(V1 + "memory.limit_in_bytes", limitBytes));
            if (host.memswAccounting()) {
                lines.add(line(V1 + "memory.memsw.limit_in_bytes", limitBytes));
            }
        } else {
            lines.add(line(V2 + "memory.max", limitBytes < 0 ? "max" : Long.toString(limitBytes)));
        }
    }

    private static void addIfSet(List<String> lines, String key, String value) {
        if (!value.isEmpty()) {
            lines.add(line(key, value));
        }
    }

    private static String line(String key, long value) {
        return line(key, Long.toString(value));
    }

    private static String line(String key, String value) {
        return key + " = " + value;
    }
}
