package io.pvecri.gpu;

import io.pvecri.gpu.testing.FakeNvml;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AllocationStoreTest {

    @TempDir
    Path state;

    private GpuService open(FakeNvml nvml) throws GpuException {
        return GpuService.open(GpuConfig.defaults(state), nvml, ProcessOwner.none(), Stopper.none());
    }

    @Test
    void allocationsSurviveReopen() throws Exception {
        FakeNvml nvml = FakeNvml.withGpus(2, 16);
        GpuAllocation share;
        GpuAllocation whole;
        try (GpuService gpus = open(nvml)) {
            share = gpus.allocate(new AllocationRequest("s", new GpuRequest.Share(4096, 25),
                    new QuotaSettings(QuotaPolicy.STOP, 4), new ContainerLabels("team-a", "trainer-0", "main")))
                    .orElseThrow();
            whole = gpus.allocate(new AllocationRequest("w", new GpuRequest.WholeCount(1), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE)).orElseThrow();
            gpus.allocate(new AllocationRequest("gone", new GpuRequest.Share(1024, 0), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
            assertTrue(gpus.release("gone"));
        }
        assertTrue(nvml.isClosed(), "the service shuts NVML down");
        String json = Files.readString(state.resolve(AllocationStore.FILE));
        assertTrue(json.contains("\"policy\" : \"stop\""), json);
        assertFalse(json.contains("gone"), json);

        try (GpuService gpus = open(FakeNvml.withGpus(2, 16))) {
            assertEquals(List.of(share, whole), gpus.allocations());
            // recovered allocations count: GPU 1 is held whole, GPU 0 has the share
            assertEquals(Optional.of("w"), gpus.capacity().get(1).wholeOwner());
            assertEquals(16384 - 4096, gpus.capacity().get(0).memoryFreeMib());
        }
    }

    @Test
    void leftoverTempFilesAreRemovedAndTheTableIsKept() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(1, 16))) {
            gpus.allocate(new AllocationRequest("a", new GpuRequest.WholeCount(1), QuotaSettings.DEFAULT,
                    ContainerLabels.NONE));
        }
        Path leftover = state.resolve(AllocationStore.TEMP_PREFIX + "crashed");
        Files.writeString(leftover, "{\"version\":1,\"allocations\":[");
        try (GpuService gpus = open(FakeNvml.withGpus(1, 16))) {
            assertFalse(Files.exists(leftover));
            assertEquals(1, gpus.allocations().size());
        }
    }

    @Test
    void aCorruptTableFailsTheOpenInsteadOfOvercommitting() throws Exception {
        Files.createDirectories(state);
        Files.writeString(state.resolve(AllocationStore.FILE), "{\"version\":1,\"allocations\":[{\"containerId\":");
        FakeNvml nvml = FakeNvml.withGpus(1, 16);
        GpuIoException e = assertThrows(GpuIoException.class, () -> open(nvml));
        assertTrue(e.getMessage().contains("is not a valid GPU allocation table"), e.getMessage());
        assertTrue(nvml.isClosed(), "a failed open shuts NVML down");
        Files.writeString(state.resolve(AllocationStore.FILE), "{\"version\":2,\"allocations\":[]}");
        assertTrue(assertThrows(GpuIoException.class, () -> open(FakeNvml.withGpus(1, 16))).getMessage()
                .contains("unsupported format (version 2"));
        Files.writeString(state.resolve(AllocationStore.FILE), "{\"version\":1,\"allocations\":[{\"containerId\":\"x\","
                + "\"kind\":\"whole\",\"gpus\":[],\"policy\":\"explode\",\"violationWindow\":3,\"createdAt\":\"2025-01-01T00:00:00Z\"}]}");
        assertTrue(assertThrows(GpuIoException.class, () -> open(FakeNvml.withGpus(1, 16))).getMessage()
                .contains("unreadable allocation of container x"));
    }

    @Test
    void oneInstancePerStateDir() throws Exception {
        try (GpuService first = open(FakeNvml.withGpus(1, 16))) {
            assertEquals(1, first.devices().size());
            GpuIoException e = assertThrows(GpuIoException.class, () -> open(FakeNvml.withGpus(1, 16)));
            assertTrue(e.getMessage().contains("in use by another pve-cri instance"), e.getMessage());
        }
        open(FakeNvml.withGpus(1, 16)).close();
    }

    @Test
    void aFailedWriteAllocatesNothing() throws Exception {
        try (GpuService gpus = open(FakeNvml.withGpus(1, 16))) {
            Path file = state.resolve(AllocationStore.FILE);
            Files.createDirectories(file); // a directory where the file goes: rename fails
            GpuIoException e = assertThrows(GpuIoException.class, () -> gpus.allocate(new AllocationRequest("a",
                    new GpuRequest.WholeCount(1), QuotaSettings.DEFAULT, ContainerLabels.NONE)));
            assertTrue(e.getMessage().startsWith("cannot write " + file), e.getMessage());
            assertEquals(List.of(), gpus.allocations());
            assertTrue(gpus.capacity().getFirst().isIdle());
            try (var s = Files.list(state)) {
                assertEquals(0, s.filter(p -> p.getFileName().toString().startsWith(AllocationStore.TEMP_PREFIX)).count());
            }
        }
    }
}
