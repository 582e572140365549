package io.pvecri.daemon.container;

import io.pvecri.daemon.util.Times;
import io.pvecri.daemon.cgroup.CgroupException;
import io.pvecri.daemon.cgroup.CgroupHost;
import io.pvecri.daemon.cgroup.CgroupStats;
import io.pvecri.daemon.cgroup.LxcCgroupKeys;
import io.pvecri.daemon.cgroup.ProcessCgroup;
import io.pvecri.daemon.cgroup.Resources;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.proto.cri.v1.LinuxContainerResources;

import java.util.List;
import java.util.Optional;

/**
 * CRI resources and stats on the host's real cgroups (v1, v2 or hybrid): LXC config lines at
 * create, live writes for UpdateContainerResources, and counters for the stats RPCs.
 */
public final class ResourceControl {
    private final CgroupHost host;

    public ResourceControl(CgroupHost host) {
        this.host = host;
    }

    /** Counters of one container at one moment; zeros for a container that is not running. */
    public record Stats(long timestampNanos, long cpuCoreNanos, long workingSetBytes, long usageBytes, long rssBytes,
                        long pageFaults, long majorPageFaults, long availableBytes, long writableBytes, long writableInodes,
                        long pids) {}

    static Resources toCgroup(LinuxContainerResources r) {
        try {
            return new Resources(r.getCpuShares(), r.getCpuQuota(), r.getCpuPeriod(), r.getMemoryLimitInBytes(),
                    r.getCpusetCpus(), r.getCpusetMems(), r.getUnifiedMap());
        } catch (IllegalArgumentException e) {
            throw CriException.invalid("container resources: " + e.getMessage());
        }
    }

    /** The limits as requested, for backends that set them in their own terms. */
    Resources requested(LinuxContainerResources r) {
        return toCgroup(r);
    }

    List<String> launchLines(LinuxContainerResources r) {
        Resources res = toCgroup(r);
        if (res.isEmpty()) {
            return List.of();
        }
        try {
            return LxcCgroupKeys.lines(host, res);
        } catch (CgroupException e) {
            throw CriException.invalid("container resources cannot be applied on this host: " + e.getMessage());
        }
    }

    void applyLive(long initPid, LinuxContainerResources r) {
        Resources res = toCgroup(r);
        if (res.isEmpty()) {
            return;
        }
        try {
            ProcessCgroup cg = host.ofPid(initPid).orElseThrow(() -> CriException.precondition(
                    "the container's process " + initPid + " is gone; it has probably just exited"));
            cg.apply(res);
        } catch (CgroupException e) {
            throw CriException.internal("updating the container's cgroup failed: " + e.getMessage(), e);
        }
    }

    Stats stats(long initPid, FileTrees.Usage layer) {
        long now = Times.nowNanos();
        Optional<CgroupStats> s = Optional.empty();
        if (initPid > 0) {
            try {
                s = host.ofPid(initPid).map(cg -> {
                    try {
                        return cg.stats();
                    } catch (CgroupException e) {
                        return null;
                    }
                });
            } catch (CgroupException e) {
                s = Optional.empty();
            }
        }
        if (s.isEmpty()) {
            return new Stats(now, 0, 0, 0, 0, 0, 0, 0, layer.bytes(), layer.inodes(), 0);
        }
        CgroupStats c = s.get();
        return new Stats(now, c.cpuUsageCoreNanos(), c.workingSetBytes(), c.memoryUsageBytes(), c.rssBytes(),
                c.pageFaults(), c.majorPageFaults(), c.availableBytes().orElse(0), layer.bytes(), layer.inodes(), c.pidsCurrent());
    }

    public String describeHost() {
        return host.version().name().toLowerCase();
    }

}
