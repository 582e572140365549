package io.pvecri.gpu;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A JMH-free micro benchmark against the C fake libnvidia-ml (docs/gpu.md, "Cost"): the FFM
 * call overhead, the NVML sampling cost per GPU per sample, and the allocation latency
 * (allocate + release, each persisted with fsync). Medians of many runs after a warm-up.
 *
 * <pre>
 * ./mvnw -q -pl gpu-quota test-compile exec:exec -Dexec.classpathScope=test -Dexec.executable=java \
 *     -Dexec.args="--enable-native-access=ALL-UNNAMED -cp %classpath io.pvecri.gpu.GpuBench [stateDir]"
 * </pre>
 */
public final class GpuBench {

    static final int GPUS = 8;
    static final int PROCS_PER_GPU = 8;

    public static void main(String[] args) throws Exception {
        Path stateRoot = args.length > 0 ? Path.of(args[0]) : Path.of("target");
        // The figures are the library's; one INFO line per allocation would time the console.
        java.util.logging.Logger.getLogger("io.pvecri.gpu").setLevel(java.util.logging.Level.WARNING);
        FakeNvmlLibrary fake = FakeNvmlLibrary.get().devices(GPUS);
        Map<Long, String> owners = new HashMap<>();
        for (int g = 0; g < GPUS; g++) {
            long[] pids = new long[PROCS_PER_GPU];
            long[] used = new long[PROCS_PER_GPU];
            int[] sm = new int[PROCS_PER_GPU];
            for (int p = 0; p < PROCS_PER_GPU; p++) {
                pids[p] = 100_000 + g * 100 + p;
                used[p] = (1L + p) << 30;
                sm[p] = 5 + p;
                owners.put(pids[p], "ctr-" + g + "-" + p);
            }
            fake.processes(g, pids, used, sm).utilization(g, 80, 30).sensors(g, 60, 250_000);
        }
        Path state = Files.createTempDirectory(stateRoot.toAbsolutePath(), "gpu-bench-");
        GpuConfig config = GpuConfig.defaults(state).withLibraryPath(FakeNvmlLibrary.PATH);
        try (Nvml nvml = Nvml.load(config)) {
            DeviceInventory inventory = DeviceInventory.discover(nvml);

            double call = medianNanos(200, 1000, () -> nvml.memoryInfo(0));
            System.out.printf("FFM call nvmlDeviceGetMemoryInfo: median %.0f ns%n", call);

            UsageSampler mapped = new UsageSampler(nvml, inventory, pid -> Optional.ofNullable(owners.get(pid)));
            double sample = medianNanos(200, 50, mapped::sample) / GPUS;
            System.out.printf("sampling (%d GPUs x %d processes, owner from a map): median %.1f µs per GPU per sample%n",
                    GPUS, PROCS_PER_GPU, sample / 1000);

            UsageSampler procfs = new UsageSampler(nvml, inventory,
                    ProcessOwner.fromCgroups(c -> Optional.of("ctr")));
            double sampleProc = medianNanos(200, 10, procfs::sample) / GPUS;
            System.out.printf("sampling with /proc/<pid>/cgroup owner lookups (pids absent): median %.1f µs per GPU per sample%n",
                    sampleProc / 1000);
        }

        try (GpuService gpus = GpuService.open(config.withLibraryPath(FakeNvmlLibrary.PATH), ProcessOwner.none(),
                Stopper.none())) {
            for (int i = 0; i < 48; i++) { // a busy node: 48 shares already placed
                gpus.allocate(new AllocationRequest("bg-" + i, new GpuRequest.Share(1024, 5), QuotaSettings.DEFAULT,
                        ContainerLabels.NONE));
            }
            int[] n = {0};
            double alloc = medianNanos(500, 1, () -> {
                String id = "c-" + n[0]++;
                gpus.allocate(new AllocationRequest(id, new GpuRequest.Share(2048, 10), QuotaSettings.DEFAULT,
                        ContainerLabels.NONE));
                gpus.release(id);
            });
            System.out.printf("allocate + release (share, 8 GPUs, 48 live allocations, fsync'd JSON in %s): "
                    + "median %.2f ms per pair%n", state, alloc / 1e6);
            double capacity = medianNanos(2000, 10, gpus::capacity);
            System.out.printf("admission view (capacity of 8 GPUs over 48 allocations): median %.1f µs%n", capacity / 1000);
        }
    }

    interface Op {
        void run() throws Exception;
    }

    /** Median of {@code runs} timings, each of {@code batch} calls, in ns per call; after as many warm-up runs. */
    static double medianNanos(int runs, int batch, Op op) throws Exception {
        double[] t = new double[runs];
        for (int warm = 0; warm < 2; warm++) {
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                for (int b = 0; b < batch; b++) {
                    op.run();
                }
                t[r] = (System.nanoTime() - start) / (double) batch;
            }
        }
        Arrays.sort(t);
        return t[runs / 2];
    }
}
