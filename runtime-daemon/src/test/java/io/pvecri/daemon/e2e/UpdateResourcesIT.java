package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ContainerStats;
import io.pvecri.proto.cri.v1.ContainerStatsRequest;
import io.pvecri.proto.cri.v1.LinuxContainerResources;
import io.pvecri.proto.cri.v1.UpdateContainerResourcesRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resource limits land in the container's real cgroup (read from the host, cgroup v1 or v2),
 * UpdateContainerResources changes them, and ContainerStats reports usage.
 */
class UpdateResourcesIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static final long MIB = 1024 * 1024;
    private static final long PERIOD = 100_000;

    private final Pods pods = daemon.pods();

    @Test
    void limitsGivenAtCreationAreInTheContainersCgroup() {
        String id = startLimited(64 * MIB, 50_000);

        Cgroups cgroups = Cgroups.ofWorkload(daemon.daemon().lxcPath(), daemon.daemon().lxcName(id));

        assertEquals(64 * MIB, cgroups.memoryLimit());
        assertEquals(new CpuQuota(50_000, PERIOD), cgroups.cpuQuota());
    }

    @Test
    void updateContainerResourcesChangesTheCgroupAndTheReportedResources() {
        String id = startLimited(64 * MIB, 50_000);

        pods.runtime().updateContainerResources(UpdateContainerResourcesRequest.newBuilder()
                .setContainerId(id)
                .setLinux(limits(128 * MIB, 20_000))
                .build());

        Cgroups cgroups = Cgroups.ofWorkload(daemon.daemon().lxcPath(), daemon.daemon().lxcName(id));
        assertEquals(128 * MIB, cgroups.memoryLimit());
        assertEquals(new CpuQuota(20_000, PERIOD), cgroups.cpuQuota());
        LinuxContainerResources reported = pods.status(id).getResources().getLinux();
        assertEquals(128 * MIB, reported.getMemoryLimitInBytes());
        assertEquals(20_000, reported.getCpuQuota());
        assertEquals(PERIOD, reported.getCpuPeriod());
    }

    @Test
    void containerStatsReportMemoryWorkingSetAndCpuUsage() {
        Pod pod = pods.run("stats");
        // Burn a little CPU first so that usage is certainly non-zero.
        String id = pod.start(pods.shell("busy", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done; sleep 1000"));
        CriLog.awaitLine(pod.logFile("busy"), "stdout", "done");

        ContainerStats stats = Wait.forValue("stats with memory and cpu usage", Duration.ofSeconds(20),
                () -> pods.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build())
                        .getStats(),
                s -> s.getMemory().getWorkingSetBytes().getValue() > 0
                        && s.getCpu().getUsageCoreNanoSeconds().getValue() > 0);

        assertEquals(id, stats.getAttributes().getId());
        assertEquals("busy", stats.getAttributes().getMetadata().getName());
        assertTrue(stats.getCpu().getTimestamp() > 0 && stats.getMemory().getTimestamp() > 0);
        assertTrue(stats.getMemory().getWorkingSetBytes().getValue() < 1024 * MIB,
                () -> "a busybox shell does not use a GiB: " + stats.getMemory());
    }

    private String startLimited(long memory, long quota) {
        Pod pod = pods.run("limits");
        var config = pods.sleeper("app");
        config.getLinuxBuilder().setResources(limits(memory, quota));
        String id = pod.start(config);
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        return id;
    }

    private static LinuxContainerResources limits(long memory, long quota) {
        return LinuxContainerResources.newBuilder()
                .setMemoryLimitInBytes(memory)
                .setCpuPeriod(PERIOD)
                .setCpuQuota(quota)
                .build();
    }

    record CpuQuota(long quota, long period) {
    }

    /** The cgroups of a container's workload process (the {@code sleep 1000}), as the host sees them. */
    record Cgroups(Path memoryDir, Path cpuDir) {
        static Cgroups ofWorkload(Path lxcPath, String containerId) {
            long init = Host.requireInitPid(lxcPath, containerId);
            long workload = workloadPid(init);
            return new Cgroups(Host.cgroupDir(workload, "memory"), Host.cgroupDir(workload, "cpu"));
        }

        /** The init itself, or the descendant of it, that runs {@code sleep 1000}. */
        private static long workloadPid(long init) {
            return Wait.forValue("the workload process under init " + init, Duration.ofSeconds(10), () -> {
                var candidates = Stream.concat(ProcessHandle.of(init).stream(),
                        ProcessHandle.of(init).stream().flatMap(ProcessHandle::descendants));
                return candidates.filter(p -> cmdline(p.pid()).equals("sleep 1000")).findFirst()
                        .map(ProcessHandle::pid).orElse(-1L);
            }, pid -> pid > 0);
        }

        private static String cmdline(long pid) {
            try {
                return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').strip();
            } catch (IOException e) {
                return "";
            }
        }

        /** The effective memory limit: the smallest one on the way from the workload's cgroup to the root. */
        long memoryLimit() {
            boolean v2 = Host.isCgroup2(memoryDir);
            String file = v2 ? "memory.max" : "memory.limit_in_bytes";
            long min = Long.MAX_VALUE;
            for (Path dir = memoryDir; dir != null && Files.exists(dir.resolve(file)); dir = dir.getParent()) {
                String value = Host.cgroupValue(dir, file);
                if (!value.equals("max")) {
                    min = Math.min(min, Long.parseLong(value));
                }
            }
            return min;
        }

        /** The CPU quota nearest to the workload: its own cgroup's, or the closest ancestor's that has one. */
        CpuQuota cpuQuota() {
            boolean v2 = Host.isCgroup2(cpuDir);
            for (Path dir = cpuDir; dir != null; dir = dir.getParent()) {
                if (v2) {
                    if (!Files.exists(dir.resolve("cpu.max"))) {
                        break;
                    }
                    String[] max = Host.cgroupValue(dir, "cpu.max").split(" ");
                    if (!max[0].equals("max")) {
                        return new CpuQuota(Long.parseLong(max[0]), Long.parseLong(max[1]));
                    }
                } else {
                    if (!Files.exists(dir.resolve("cpu.cfs_quota_us"))) {
                        break;
                    }
                    long quota = Long.parseLong(Host.cgroupValue(dir, "cpu.cfs_quota_us"));
                    if (quota > 0) {
                        return new CpuQuota(quota, Long.parseLong(Host.cgroupValue(dir, "cpu.cfs_period_us")));
                    }
                }
            }
            return new CpuQuota(-1, -1);
        }
    }
}
