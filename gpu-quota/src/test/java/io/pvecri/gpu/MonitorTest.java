package io.pvecri.gpu;

import io.pvecri.gpu.testing.FakeNvml;
import io.pvecri.gpu.testing.FakeNvml.Proc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sampling, attribution, violation windows and policies, over the in-process fake with real processes. */
class MonitorTest {

    static final long MIB = 1024L * 1024;

    @TempDir
    Path state;

    Sleepers sleepers;
    FakeNvml nvml;
    final List<String> stops = new CopyOnWriteArrayList<>();
    volatile int failStops;

    @BeforeEach
    void setUp() {
        sleepers = new Sleepers();
        nvml = FakeNvml.withGpus(2, 16);
    }

    @AfterEach
    void tearDown() throws Exception {
        sleepers.close();
    }

    private GpuService open() throws GpuException {
        Stopper stopper = (id, reason) -> {
            if (failStops > 0) {
                failStops--;
                throw new IllegalStateException("lxc-stop failed");
            }
            stops.add(id + ": " + reason);
            sleepers.kill(id);
        };
        return GpuService.open(GpuConfig.defaults(state), nvml, sleepers, stopper);
    }

    private static AllocationRequest share(String id, long mib, int percent, QuotaPolicy policy, int window) {
        return new AllocationRequest(id, new GpuRequest.Share(mib, percent), new QuotaSettings(policy, window),
                new ContainerLabels("ml", id + "-pod", "main"));
    }

    @Test
    void readingsPerGpuAndPerContainer() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(share("a", 4096, 0, QuotaPolicy.WARN, 3));
            gpus.allocate(new AllocationRequest("w", new GpuRequest.WholeDevices(List.of("1")), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
            long a1 = sleepers.start("a");
            long a2 = sleepers.start("a");
            long x = sleepers.start("x"); // a container without allocation
            nvml.device(0).utilization(70, 20).sensors(55, 123_000)
                    .processes(new Proc(a1, 1024 * MIB, 40), new Proc(a2, 512 * MIB, 10), new Proc(x, 256 * MIB, 5),
                            new Proc(999_999_999L, 128 * MIB, 0));
            nvml.failWith("nvmlDeviceGetTemperature", NvmlReturn.ERROR_NOT_SUPPORTED);

            GpuSnapshot s = gpus.sample();
            assertEquals(1, s.sequence());
            GpuReading g0 = s.gpus().getFirst();
            assertEquals(new GpuReading(0, "GPU-fake-0000-0000-0000-000000000000", "Fake GPU 16GB", 16L << 30,
                    1920 * MIB, (16L << 30) - 1920 * MIB, 70, 20, OptionalInt.empty(), OptionalInt.of(123_000), 4,
                    128 * MIB, UtilizationSource.PROCESS_SAMPLES, java.util.Optional.empty()), g0);

            assertEquals(List.of("a", "w", "x"), s.containers().stream().map(ContainerGpuUsage::containerId).toList());
            ContainerGpuUsage a = s.containers().getFirst();
            assertEquals(1536 * MIB, a.memoryUsedBytes());
            assertEquals(50.0, a.computePercent(), 1e-9);
            assertEquals(OptionalLong.of(4096 * MIB), a.memoryLimitBytes());
            assertEquals(OptionalInt.empty(), a.computeLimitPercent());
            assertEquals(List.of(a1, a2), a.pids());
            assertEquals(new ContainerLabels("ml", "a-pod", "main"), a.labels());
            assertTrue(a.allocated());
            ContainerGpuUsage w = s.containers().get(1);
            assertEquals(0, w.memoryUsedBytes(), "held GPUs are listed also when idle");
            assertEquals("GPU-fake-0001-0000-0000-000000000000", w.gpuUuid());
            assertFalse(s.containers().get(2).allocated());

            assertEquals(1, s.quotas().size());
            assertEquals(0, s.quotas().getFirst().violations());
        }
    }

    @Test
    void memoryOverTheShareForAWholeWindowIsAViolationWarnOnlyCounts() throws Exception {
        try (LogCapture log = new LogCapture(); GpuService gpus = open()) {
            gpus.allocate(share("a", 4096, 0, QuotaPolicy.WARN, 3));
            long pid = sleepers.start("a");
            nvml.device(0).processes(new Proc(pid, 5120 * MIB, 10));
            int[] expected = {0, 0, 1, 1, 1, 2};
            for (int i = 0; i < expected.length; i++) {
                QuotaStatus q = gpus.sample().quotas().getFirst();
                assertEquals(i + 1, q.consecutiveOverSamples());
                assertEquals(expected[i], q.memoryViolations(), "sample " + (i + 1));
            }
            nvml.device(0).processes(new Proc(pid, 4096 * MIB, 10)); // at the share is not over it
            GpuSnapshot s = gpus.sample();
            assertEquals(0, s.quotas().getFirst().consecutiveOverSamples());
            assertEquals(2, s.quotas().getFirst().memoryViolations());
            assertEquals(2, s.violationsTotal());
            assertEquals(0, s.stopsTotal());
            assertTrue(stops.isEmpty());
            assertTrue(sleepers.alive(pid), "warn never stops");
            List<String> warnings = log.messages(Level.WARNING);
            assertEquals(2, warnings.size(), warnings.toString());
            assertEquals("container a (pod ml/a-pod): GPU quota exceeded: memory 5120 MiB > share 4096 MiB on "
                    + "GPU-fake-0000-0000-0000-000000000000 for 3 consecutive samples; policy warn", warnings.getFirst());
        }
    }

    @Test
    void anUnderSampleRestartsTheWindow() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(share("a", 1024, 0, QuotaPolicy.STOP, 3));
            long pid = sleepers.start("a");
            for (int round = 0; round < 3; round++) {
                nvml.device(0).processes(new Proc(pid, 2048 * MIB, 0));
                gpus.sample();
                gpus.sample();
                nvml.device(0).processes(new Proc(pid, 512 * MIB, 0));
                gpus.sample();
            }
            assertEquals(0, gpus.sample().quotas().getFirst().violations());
            assertTrue(stops.isEmpty());
        }
    }

    @Test
    void stopPolicyStopsTheContainerOnceAfterTheWindow() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(share("greedy", 2048, 0, QuotaPolicy.STOP, 2));
            gpus.allocate(share("fine", 2048, 0, QuotaPolicy.STOP, 2));
            long greedy = sleepers.start("greedy");
            long fine = sleepers.start("fine");
            nvml.device(0).processes(new Proc(greedy, 3000 * MIB, 0), new Proc(fine, 1000 * MIB, 0));
            gpus.sample();
            assertTrue(stops.isEmpty());
            assertTrue(sleepers.alive(greedy));
            GpuSnapshot s = gpus.sample();
            assertEquals(List.of("greedy: GPU quota exceeded: memory 3000 MiB > share 2048 MiB on "
                    + "GPU-fake-0000-0000-0000-000000000000 for 2 consecutive samples"), stops);
            assertFalse(sleepers.alive(greedy), "the stopper killed the container's process");
            assertTrue(sleepers.alive(fine));
            QuotaStatus q = s.quotas().stream().filter(x -> x.containerId().equals("greedy")).findFirst().orElseThrow();
            assertTrue(q.stopRequested());
            assertEquals(1, s.stopsTotal());
            // NVML may list the dead pid a while longer; it no longer belongs to the container
            s = gpus.sample();
            gpus.sample();
            assertEquals(1, stops.size());
            assertEquals(3000 * MIB, s.gpus().getFirst().unattributedMemoryBytes());
        }
    }

    @Test
    void aFailingStopperIsRetriedOnTheNextSampleOverTheShare() throws Exception {
        failStops = 1;
        try (GpuService gpus = open()) {
            gpus.allocate(share("a", 1024, 0, QuotaPolicy.STOP, 1));
            long pid = sleepers.start("a");
            nvml.device(0).processes(new Proc(pid, 2048 * MIB, 0));
            assertFalse(gpus.sample().quotas().getFirst().stopRequested());
            assertTrue(sleepers.alive(pid));
            assertTrue(gpus.sample().quotas().getFirst().stopRequested());
            assertFalse(sleepers.alive(pid));
            assertEquals(1, stops.size());
        }
    }

    @Test
    void computeOverTheShareFromPerProcessSamples() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(share("hot", 0, 30, QuotaPolicy.WARN, 1));
            gpus.allocate(share("cool", 0, 30, QuotaPolicy.WARN, 1));
            long hot = sleepers.start("hot");
            long cool = sleepers.start("cool");
            nvml.device(0).utilization(70, 0).processes(new Proc(hot, 100 * MIB, 50), new Proc(cool, 900 * MIB, 20));
            GpuSnapshot s = gpus.sample();
            assertEquals(UtilizationSource.PROCESS_SAMPLES, s.gpus().getFirst().utilizationSource());
            Map<String, QuotaStatus> q = byId(s.quotas());
            assertEquals(1, q.get("hot").computeViolations());
            assertEquals(0, q.get("cool").computeViolations());
            assertEquals("GPU quota exceeded: compute 50.0% > share 30% on GPU-fake-0000-0000-0000-000000000000 for 1 "
                    + "consecutive samples", q.get("hot").lastViolation().orElseThrow());
        }
    }

    @Test
    void withoutPerProcessSamplesUtilizationIsSplitByMemory() throws Exception {
        nvml.processUtilizationSupported(false);
        try (LogCapture log = new LogCapture(); GpuService gpus = open()) {
            gpus.allocate(share("big", 0, 50, QuotaPolicy.WARN, 1));
            gpus.allocate(share("small", 0, 50, QuotaPolicy.WARN, 1));
            long big = sleepers.start("big");
            long small = sleepers.start("small");
            nvml.device(0).utilization(80, 0).processes(new Proc(big, 3072 * MIB, 0), new Proc(small, 1024 * MIB, 0));
            GpuSnapshot s = gpus.sample();
            gpus.sample();
            assertEquals(UtilizationSource.MEMORY_PROPORTIONAL, s.gpus().getFirst().utilizationSource());
            assertEquals(60.0, s.containers().get(0).computePercent(), 1e-9);
            assertEquals(20.0, s.containers().get(1).computePercent(), 1e-9);
            assertEquals(1, byId(s.quotas()).get("big").computeViolations());
            assertEquals(0, byId(s.quotas()).get("small").computeViolations());
            assertEquals(1, log.messages(Level.INFO).stream().filter(m -> m.contains("no per-process utilization")).count());
        }
    }

    @Test
    void nvmlErrorsAreReportedPerGpuAndSamplingGoesOn() throws Exception {
        try (GpuService gpus = open()) {
            nvml.failWith("nvmlDeviceGetMemoryInfo", NvmlReturn.ERROR_GPU_IS_LOST);
            GpuSnapshot s = gpus.sample();
            assertEquals(2, s.gpus().size());
            assertTrue(s.gpus().getFirst().error().orElseThrow().contains("GPU_IS_LOST"), s.gpus().getFirst().error().get());
            nvml.failWith("nvmlDeviceGetMemoryInfo", NvmlReturn.SUCCESS);
            assertTrue(gpus.sample().gpus().getFirst().error().isEmpty());
        }
    }

    @Test
    void releasedContainersLeaveTheQuotasButNotTheTotal() throws Exception {
        try (GpuService gpus = open()) {
            gpus.allocate(share("a", 1024, 0, QuotaPolicy.WARN, 1));
            long pid = sleepers.start("a");
            nvml.device(0).processes(new Proc(pid, 2048 * MIB, 0));
            assertEquals(1, gpus.sample().violationsTotal());
            gpus.release("a");
            GpuSnapshot s = gpus.sample();
            assertEquals(List.of(), s.quotas());
            assertEquals(1, s.violationsTotal());
            assertFalse(s.containers().getFirst().allocated());
        }
    }

    @Test
    void samplesOnATimer() throws Exception {
        GpuConfig config = GpuConfig.defaults(state).withSampleInterval(Duration.ofMillis(100));
        try (GpuService gpus = GpuService.open(config, nvml, sleepers, Stopper.none())) {
            assertTrue(gpus.latestSnapshot().isEmpty());
            gpus.startMonitoring();
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (gpus.latestSnapshot().map(GpuSnapshot::sequence).orElse(0L) < 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(gpus.latestSnapshot().orElseThrow().sequence() >= 3);
        }
    }

    private static Map<String, QuotaStatus> byId(List<QuotaStatus> q) {
        return q.stream().collect(java.util.stream.Collectors.toMap(QuotaStatus::containerId, x -> x));
    }
}
