package io.pvecri.gpu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole service over the FFM binding and the C fake library, with real processes. */
class FakeLibraryServiceTest {

    static final long MIB = 1024L * 1024;

    @TempDir
    Path state;

    Sleepers sleepers;
    final List<String> stops = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        sleepers = new Sleepers();
    }

    @AfterEach
    void tearDown() throws Exception {
        sleepers.close();
    }

    private GpuService open(Path library) throws GpuException {
        GpuConfig config = GpuConfig.defaults(state).withLibraryPath(library);
        return GpuService.open(config, sleepers, (id, reason) -> {
            stops.add(id);
            sleepers.kill(id);
        });
    }

    @Test
    void shareOverItsMemoryIsStoppedThroughTheRealBinding() throws Exception {
        FakeNvmlLibrary fake = FakeNvmlLibrary.get().devices(2);
        fake.utilization(1, 90, 30).sensors(1, 71, 280_000);
        try (GpuService gpus = open(FakeNvmlLibrary.PATH)) {
            assertEquals(2, gpus.devices().size());
            assertEquals("00000000:18:00.0", gpus.devices().get(1).pciBusId());
            GpuAllocation whole = gpus.allocate("w", ContainerLabels.NONE, Map.of("NVIDIA_VISIBLE_DEVICES", "0"),
                    Map.of()).orElseThrow();
            assertEquals(List.of(FakeNvmlLibrary.uuid(0)), whole.gpuUuids());
            GpuAllocation share = gpus.allocate("s", new ContainerLabels("ml", "train", "main"), Map.of(),
                    Map.of(GpuRequests.MEMORY_MIB, "8192", GpuRequests.COMPUTE_PERCENT, "40",
                            GpuRequests.POLICY, "stop", GpuRequests.VIOLATION_WINDOW, "3")).orElseThrow();
            assertEquals(List.of(FakeNvmlLibrary.uuid(1)), share.gpuUuids(), "GPU 0 is held whole");

            long s1 = sleepers.start("s");
            long s2 = sleepers.start("s");
            long w1 = sleepers.start("w");
            fake.processes(0, new long[]{w1}, new long[]{60L << 30}, new int[]{95});
            fake.processes(1, new long[]{s1, s2}, new long[]{6144 * MIB, 3072 * MIB}, new int[]{25, 10});

            GpuSnapshot snap = gpus.sample();
            GpuReading g1 = snap.gpus().get(1);
            assertEquals(OptionalInt.of(71), g1.temperatureCelsius());
            assertEquals(OptionalInt.of(280_000), g1.powerMilliwatts());
            assertEquals(90, g1.utilizationGpuPercent());
            assertEquals(2, g1.computeProcesses());
            assertEquals(UtilizationSource.PROCESS_SAMPLES, g1.utilizationSource());
            ContainerGpuUsage s = snap.containers().stream().filter(c -> c.containerId().equals("s")).findFirst()
                    .orElseThrow();
            assertEquals(9216 * MIB, s.memoryUsedBytes());
            assertEquals(35.0, s.computePercent(), 1e-9); // under the 40% share
            assertEquals(List.of(s1, s2), s.pids());
            assertTrue(stops.isEmpty());

            gpus.sample();
            snap = gpus.sample();
            assertEquals(List.of("s"), stops);
            assertFalse(sleepers.alive(s1));
            assertFalse(sleepers.alive(s2));
            assertTrue(sleepers.alive(w1), "whole GPUs have no share to exceed");
            QuotaStatus q = snap.quotas().getFirst();
            assertEquals(1, q.memoryViolations());
            assertEquals(0, q.computeViolations());
            assertTrue(q.stopRequested());

            // the daemon removes the stopped container
            assertTrue(gpus.release("s"));
            assertEquals(List.of("w"), gpus.reconcile(java.util.Set.of()));
        }
    }

    @Test
    void olderDriverFallsBackToMemoryProportionalUtilization() throws Exception {
        FakeNvmlLibrary old = FakeNvmlLibrary.get(FakeNvmlLibrary.OLD_PATH).devices(1);
        old.utilization(0, 60, 0);
        try (GpuService gpus = open(FakeNvmlLibrary.OLD_PATH)) {
            gpus.allocate(new AllocationRequest("a", new GpuRequest.Share(0, 10), new QuotaSettings(QuotaPolicy.WARN, 1),
                    ContainerLabels.NONE));
            long pid = sleepers.start("a");
            long other = sleepers.start("b");
            old.processes(0, new long[]{pid, other}, new long[]{1024 * MIB, 2048 * MIB}, new int[]{0, 0});
            GpuSnapshot s = gpus.sample();
            assertEquals(UtilizationSource.MEMORY_PROPORTIONAL, s.gpus().getFirst().utilizationSource());
            assertEquals(20.0, s.containers().getFirst().computePercent(), 1e-9);
            assertEquals(1, s.quotas().getFirst().computeViolations());
        }
    }
}
