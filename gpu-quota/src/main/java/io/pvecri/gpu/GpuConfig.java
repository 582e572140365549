package io.pvecri.gpu;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Configuration of the GPU module (the {@code gpu:} section of the daemon's YAML).
 *
 * @param libraryPath        an explicit {@code libnvidia-ml.so.1}; when set, the only place looked at
 * @param librarySearchDirs  where {@code libnvidia-ml.so.1} and the driver libraries are looked for
 * @param useLoaderPath      after the search dirs, also ask the dynamic loader ({@code dlopen} by name)
 * @param binarySearchDirs   where the driver's tools ({@code nvidia-smi}...) are looked for
 * @param driverLibraryGlobs file-name globs of the driver's user-space libraries bind-mounted
 *                           read-only into GPU containers
 * @param driverBinaries     file names of driver tools bind-mounted read-only into GPU containers
 * @param devDir             where the {@code nvidia*} device nodes are ({@code /dev})
 * @param stateDir           where {@code allocations.json} lives
 * @param placement          where shares go when several GPUs have room
 * @param sampleInterval     how often usage is sampled (≥ 100 ms)
 * @param defaultQuota       policy and window for containers whose pod does not say
 */
public record GpuConfig(
        Optional<Path> libraryPath,
        List<Path> librarySearchDirs,
        boolean useLoaderPath,
        List<Path> binarySearchDirs,
        List<String> driverLibraryGlobs,
        List<String> driverBinaries,
        Path devDir,
        Path stateDir,
        Placement placement,
        Duration sampleInterval,
        QuotaSettings defaultQuota) {

    public static final String LIBRARY_NAME = "libnvidia-ml.so.1";

    public static final List<Path> DEFAULT_LIBRARY_DIRS = List.of(
            Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib64"), Path.of("/usr/lib"),
            Path.of("/usr/local/nvidia/lib64"));

    public static final List<Path> DEFAULT_BINARY_DIRS = List.of(Path.of("/usr/bin"), Path.of("/usr/local/nvidia/bin"));

    /** The utility and compute libraries nvidia-container-toolkit mounts. */
    public static final List<String> DEFAULT_LIBRARY_GLOBS = List.of(
            "libnvidia-ml.so*", "libnvidia-cfg.so*",
            "libcuda.so*", "libcudadebugger.so*", "libnvidia-opencl.so*", "libnvidia-gpucomp.so*",
            "libnvidia-ptxjitcompiler.so*", "libnvidia-fatbinaryloader.so*", "libnvidia-allocator.so*",
            "libnvidia-compiler.so*", "libnvidia-pkcs11*.so*", "libnvidia-nvvm.so*");

    public static final List<String> DEFAULT_BINARIES = List.of(
            "nvidia-smi", "nvidia-debugdump", "nvidia-persistenced", "nvidia-cuda-mps-control",
            "nvidia-cuda-mps-server");

    public static final Duration DEFAULT_SAMPLE_INTERVAL = Duration.ofSeconds(10);

    public GpuConfig {
        libraryPath = libraryPath == null ? Optional.empty() : libraryPath;
        librarySearchDirs = List.copyOf(librarySearchDirs);
        binarySearchDirs = List.copyOf(binarySearchDirs);
        driverLibraryGlobs = List.copyOf(driverLibraryGlobs);
        driverBinaries = List.copyOf(driverBinaries);
        for (String b : driverBinaries) {
            if (b.isEmpty() || b.contains("/")) {
                throw new IllegalArgumentException("driver binary must be a plain file name: '" + b + "'");
            }
        }
        if (devDir == null || stateDir == null || placement == null || sampleInterval == null || defaultQuota == null) {
            throw new IllegalArgumentException("devDir, stateDir, placement, sampleInterval and defaultQuota are required");
        }
        if (sampleInterval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("sample interval must be at least 100ms, got " + sampleInterval);
        }
    }

    /** The defaults, with allocations kept under {@code stateDir}. */
    public static GpuConfig defaults(Path stateDir) {
        return new GpuConfig(Optional.empty(), DEFAULT_LIBRARY_DIRS, true, DEFAULT_BINARY_DIRS,
                DEFAULT_LIBRARY_GLOBS, DEFAULT_BINARIES, Path.of("/dev"), stateDir, Placement.FIRST_FIT,
                DEFAULT_SAMPLE_INTERVAL, QuotaSettings.DEFAULT);
    }

    /** Loads NVML from exactly this file (no search). */
    public GpuConfig withLibraryPath(Path path) {
        return new GpuConfig(Optional.of(path), librarySearchDirs, useLoaderPath, binarySearchDirs, driverLibraryGlobs,
                driverBinaries, devDir, stateDir, placement, sampleInterval, defaultQuota);
    }

    public GpuConfig withSearchDirs(List<Path> libraryDirs, List<Path> binaryDirs, boolean useLoaderPath) {
        return new GpuConfig(libraryPath, libraryDirs, useLoaderPath, binaryDirs, driverLibraryGlobs,
                driverBinaries, devDir, stateDir, placement, sampleInterval, defaultQuota);
    }

    public GpuConfig withDevDir(Path dir) {
        return new GpuConfig(libraryPath, librarySearchDirs, useLoaderPath, binarySearchDirs, driverLibraryGlobs,
                driverBinaries, dir, stateDir, placement, sampleInterval, defaultQuota);
    }

    public GpuConfig withPlacement(Placement p) {
        return new GpuConfig(libraryPath, librarySearchDirs, useLoaderPath, binarySearchDirs, driverLibraryGlobs,
                driverBinaries, devDir, stateDir, p, sampleInterval, defaultQuota);
    }

    public GpuConfig withSampleInterval(Duration interval) {
        return new GpuConfig(libraryPath, librarySearchDirs, useLoaderPath, binarySearchDirs, driverLibraryGlobs,
                driverBinaries, devDir, stateDir, placement, interval, defaultQuota);
    }

    public GpuConfig withDefaultQuota(QuotaSettings quota) {
        return new GpuConfig(libraryPath, librarySearchDirs, useLoaderPath, binarySearchDirs, driverLibraryGlobs,
                driverBinaries, devDir, stateDir, placement, sampleInterval, quota);
    }
}
