package io.pvecri.gpu;

import io.pvecri.gpu.testing.FakeNvml;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AllocationTest {

    @TempDir
    Path state;

    private GpuService open(FakeNvml nvml, Placement placement) throws GpuException {
        return GpuService.open(GpuConfig.defaults(state).withPlacement(placement), nvml, ProcessOwner.none(),
                Stopper.none());
    }

    private static AllocationRequest req(String id, GpuRequest r) {
        return new AllocationRequest(id, r, QuotaSettings.DEFAULT, ContainerLabels.NONE);
    }

    private static String uuid(int i) {
        return String.format("GPU-fake-%04d-0000-0000-000000000000", i);
    }

    @Test
    void inventory() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(2, 80), Placement.FIRST_FIT)) {
            assertEquals(List.of(new GpuDevice(0, uuid(0), "Fake GPU 80GB", 0, "00000000:01:00.0", 80 * FakeNvml.GIB),
                    new GpuDevice(1, uuid(1), "Fake GPU 80GB", 1, "00000000:02:00.0", 80 * FakeNvml.GIB)), gpus.devices());
            assertEquals(81920, gpus.devices().getFirst().memoryTotalMib());
        }
    }

    @Test
    void aLostGpuIsLeftOutOfTheInventory() throws Exception {
        FakeNvml nvml = FakeNvml.withGpus(2, 80);
        nvml.failWith("nvmlDeviceGetMinorNumber", NvmlReturn.ERROR_GPU_IS_LOST);
        try (GpuService gpus = open(nvml, Placement.FIRST_FIT)) {
            assertEquals(List.of(), gpus.devices());
        }
    }

    @Test
    void wholeGpusAreExclusive() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(3, 80), Placement.FIRST_FIT)) {
            GpuAllocation a = gpus.allocate(req("a", new GpuRequest.WholeCount(2))).orElseThrow();
            assertEquals(GpuAllocation.Kind.WHOLE, a.kind());
            assertEquals(List.of(uuid(0), uuid(1)), a.gpuUuids());
            // by index and by UUID, as NVIDIA_VISIBLE_DEVICES names them
            assertThrows(GpuAdmissionException.class, () -> gpus.allocate(req("b", new GpuRequest.WholeDevices(List.of("1")))));
            GpuAllocation c = gpus.allocate(req("c", new GpuRequest.WholeDevices(List.of(uuid(2))))).orElseThrow();
            assertEquals(List.of(uuid(2)), c.gpuUuids());
            assertThrows(GpuAdmissionException.class, () -> gpus.allocate(req("d", new GpuRequest.WholeCount(1))));
            assertThrows(GpuAdmissionException.class, () -> gpus.allocate(req("e", new GpuRequest.Share(1, 0))));
            assertThrows(GpuAdmissionException.class, () -> gpus.allocate(req("f", new GpuRequest.AllGpus())));
            assertTrue(gpus.release("a"));
            assertFalse(gpus.release("a"));
            GpuAllocation all = gpus.allocate(req("f", new GpuRequest.WholeDevices(List.of("0", "1")))).orElseThrow();
            assertEquals(List.of(uuid(0), uuid(1)), all.gpuUuids());
        }
    }

    @Test
    void allTakesEveryGpu() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(2, 16), Placement.FIRST_FIT)) {
            GpuAllocation a = gpus.allocate("x", new ContainerLabels("ns", "pod", "main"),
                    Map.of("NVIDIA_VISIBLE_DEVICES", "all"), Map.of()).orElseThrow();
            assertEquals(List.of(uuid(0), uuid(1)), a.gpuUuids());
            assertEquals(new ContainerLabels("ns", "pod", "main"), a.labels());
        }
    }

    @Test
    void unknownGpuIsInvalid() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(1, 16), Placement.FIRST_FIT)) {
            InvalidGpuRequestException e = assertThrows(InvalidGpuRequestException.class,
                    () -> gpus.allocate(req("a", new GpuRequest.WholeDevices(List.of("GPU-nope")))));
            assertEquals("unknown GPU 'GPU-nope'; this node has GPUs 0=" + uuid(0), e.getMessage());
            assertThrows(InvalidGpuRequestException.class,
                    () -> gpus.allocate(req("a", new GpuRequest.Share(10, 0, Optional.of("7")))));
        }
    }

    @Test
    void sharesFirstFitPackTheLowestGpu() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(3, 16), Placement.FIRST_FIT)) {
            for (String id : List.of("a", "b", "c")) {
                GpuAllocation s = gpus.allocate(req(id, new GpuRequest.Share(4096, 30))).orElseThrow();
                assertEquals(List.of(uuid(0)), s.gpuUuids(), id);
            }
            // 3 × 30% on GPU 0: another 30% goes to GPU 1
            assertEquals(List.of(uuid(1)), gpus.allocate(req("d", new GpuRequest.Share(1024, 30))).orElseThrow().gpuUuids());
            // memory-only shares do not care about compute
            assertEquals(List.of(uuid(0)), gpus.allocate(req("e", new GpuRequest.Share(4096, 0))).orElseThrow().gpuUuids());
            GpuCapacity gpu0 = gpus.capacity().getFirst();
            assertEquals(new GpuCapacity(0, uuid(0), 16384, 0, 10, Optional.empty(), 4), gpu0);
            // whole GPU 2 is still idle: first-fit keeps whole GPUs free
            assertEquals(List.of(uuid(2)), gpus.allocate(req("w", new GpuRequest.WholeCount(1))).orElseThrow().gpuUuids());
        }
    }

    @Test
    void sharesSpreadGoToTheEmptiestGpu() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(3, 16), Placement.SPREAD)) {
            assertEquals(List.of(uuid(0)), gpus.allocate(req("a", new GpuRequest.Share(4096, 30))).orElseThrow().gpuUuids());
            assertEquals(List.of(uuid(1)), gpus.allocate(req("b", new GpuRequest.Share(4096, 30))).orElseThrow().gpuUuids());
            assertEquals(List.of(uuid(2)), gpus.allocate(req("c", new GpuRequest.Share(8192, 10))).orElseThrow().gpuUuids());
            // GPU 0 and 1 have 12 GiB/70% left, GPU 2 8 GiB/90%: 0.75+0.7 > 0.5+0.9 → GPU 0
            assertEquals(List.of(uuid(0)), gpus.allocate(req("d", new GpuRequest.Share(1024, 0))).orElseThrow().gpuUuids());
            assertEquals(List.of(uuid(1)), gpus.allocate(req("e", new GpuRequest.Share(1024, 0))).orElseThrow().gpuUuids());
            // no idle GPU is left for a whole request
            assertThrows(GpuAdmissionException.class, () -> gpus.allocate(req("w", new GpuRequest.WholeCount(1))));
        }
    }

    @Test
    void pinnedShare() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(2, 16), Placement.FIRST_FIT)) {
            GpuAllocation s = gpus.allocate("p", ContainerLabels.NONE, Map.of("NVIDIA_VISIBLE_DEVICES", uuid(1)),
                    Map.of(GpuRequests.MEMORY_MIB, "2048")).orElseThrow();
            assertEquals(List.of(uuid(1)), s.gpuUuids());
            assertEquals(2048, s.memoryMib());
        }
    }

    @Test
    void refusalSaysWhatIsFreePerGpu() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(2, 16), Placement.FIRST_FIT)) {
            gpus.allocate(req("whole", new GpuRequest.WholeDevices(List.of("0"))));
            gpus.allocate(req("s1", new GpuRequest.Share(10240, 60)));
            GpuAdmissionException e = assertThrows(GpuAdmissionException.class,
                    () -> gpus.allocate(req("big", new GpuRequest.Share(8192, 30))));
            assertEquals("cannot allocate share:memory=8192MiB,compute=30% for container big: free: "
                    + "GPU 0 (" + uuid(0) + "): held whole by container whole; "
                    + "GPU 1 (" + uuid(1) + "): 6144/16384 MiB, 40% compute free, 1 share", e.getMessage());
            assertEquals(2, gpus.allocations().size(), "a refusal allocates nothing");
        }
    }

    @Test
    void sameRequestAgainIsIdempotentADifferentOneConflicts() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(2, 16), Placement.FIRST_FIT)) {
            GpuAllocation a = gpus.allocate(req("a", new GpuRequest.Share(1024, 10))).orElseThrow();
            assertSame(a, gpus.allocate(req("a", new GpuRequest.Share(1024, 10))).orElseThrow());
            GpuConflictException e = assertThrows(GpuConflictException.class,
                    () -> gpus.allocate(req("a", new GpuRequest.WholeCount(1))));
            assertTrue(e.getMessage().contains("already holds GPU allocation share:memory=1024MiB,compute=10%"));
        }
    }

    @Test
    void releaseAndReconcile() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(2, 16), Placement.FIRST_FIT)) {
            gpus.allocate(req("a", new GpuRequest.Share(1024, 10)));
            gpus.allocate(req("b", new GpuRequest.Share(1024, 10)));
            gpus.allocate(req("c", new GpuRequest.WholeCount(1)));
            gpus.allocate(req("d", new GpuRequest.DriverOnly()));
            assertEquals(List.of("a", "c"), gpus.reconcile(Set.of("b", "d", "unknown")));
            assertEquals(List.of("b", "d"), gpus.allocations().stream().map(GpuAllocation::containerId).toList());
            assertEquals(List.of(), gpus.reconcile(Set.of("b", "d")));
            assertTrue(gpus.capacity().get(1).isIdle());
        }
    }
}
