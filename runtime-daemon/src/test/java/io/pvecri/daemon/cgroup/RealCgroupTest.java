package io.pvecri.daemon.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs against the machine's real cgroup filesystem: creates a child of this JVM's own memory
 * cgroup, moves a {@code sleep} into it and limits its memory through {@link ProcessCgroup}.
 * Skipped unless running as root on Linux with a writable memory cgroup.
 */
class RealCgroupTest {

    private static final long LIMIT = 64L << 20;

    @Test
    void limitsMemoryOfARealProcess() throws Exception {
        assumeTrue(isRoot(), "needs root");
        assumeTrue(Files.isReadable(Path.of("/proc/self/mountinfo")), "needs Linux /proc");
        CgroupHost host;
        try {
            host = CgroupHost.detect();
        } catch (CgroupException e) {
            assumeTrue(false, "no usable cgroup filesystem: " + e.getMessage());
            return;
        }
        Optional<Path> ownMemory = host.ofPid(ProcessHandle.current().pid()).flatMap(c -> c.directory("memory"));
        assumeTrue(ownMemory.isPresent() && Files.isWritable(ownMemory.get()), "no writable own memory cgroup");

        Path child = ownMemory.get().resolve("pvecri-test-" + UUID.randomUUID().toString().substring(0, 8));
        Process sleep = null;
        try {
            Files.createDirectory(child);
            String limitFile = host.controllerVersion("memory") == CgroupVersion.V1
                    ? "memory.limit_in_bytes" : "memory.max";
            assumeTrue(Files.exists(child.resolve(limitFile)), "memory controller not enabled for " + child);

            sleep = new ProcessBuilder("sleep", "30").start();
            Files.writeString(child.resolve("cgroup.procs"), Long.toString(sleep.pid()));

            ProcessCgroup cg = host.ofPid(sleep.pid()).orElseThrow();
            assertEquals(Optional.of(child), cg.directory("memory"));

            cg.apply(new Resources(0, 0, 0, LIMIT, "", "", Map.of()));

            assertEquals(Long.toString(LIMIT), Files.readString(child.resolve(limitFile)).strip());
            CgroupStats stats = cg.stats();
            assertEquals(LIMIT, stats.memoryLimitBytes());
            assertTrue(stats.cpuUsageCoreNanos() >= 0 && stats.workingSetBytes() >= 0, stats.toString());
            assertTrue(stats.workingSetBytes() <= stats.memoryUsageBytes(), stats.toString());
        } finally {
            if (sleep != null) {
                sleep.destroyForcibly();
                sleep.waitFor(10, TimeUnit.SECONDS);
            }
            removeCgroup(child);
        }
    }

    private static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }

    /** rmdir; the kernel may report EBUSY briefly after the last task exits. */
    private static void removeCgroup(Path dir) throws InterruptedException {
        for (int attempt = 0; attempt < 50 && Files.exists(dir); attempt++) {
            try {
                Files.delete(dir);
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        assertTrue(Files.notExists(dir), "could not remove test cgroup " + dir);
    }
}
