package io.pvecri.daemon.config;

import io.pvecri.gpu.GpuConfig;
import io.pvecri.gpu.InvalidGpuRequestException;
import io.pvecri.gpu.Placement;
import io.pvecri.gpu.QuotaPolicy;
import io.pvecri.gpu.QuotaSettings;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** The {@code gpu:} section of the config file (docs/gpu.md and docs/configuration.md list the keys). */
public final class GpuSection {
    private GpuSection() {}

    /**
     * The daemon's GPU settings.
     *
     * @param enabled false: NVML is not even loaded; GPU requests are refused
     * @param config  the gpu-quota module's configuration
     */
    public record Settings(boolean enabled, GpuConfig config) {}

    record FileGpu(Boolean enabled, Path libraryPath, List<Path> librarySearchDirs, Boolean useLoaderPath,
                   List<Path> binarySearchDirs, List<String> driverLibraryGlobs, List<String> driverBinaries,
                   Path devDir, Path stateDir, String placement, String sampleInterval, String policy,
                   Integer violationWindow) {}

    /** The settings from {@code f} (null: the section is absent), with allocations under {@code <stateDir>/gpu} by default. */
    static Settings parse(FileGpu f, Path stateDir) throws ConfigException {
        GpuConfig c = GpuConfig.defaults(stateDir.resolve("gpu"));
        if (f == null) {
            return new Settings(true, c);
        }
        if (f.libraryPath() != null) {
            c = c.withLibraryPath(absolute("gpu.libraryPath", f.libraryPath()));
        }
        if (f.librarySearchDirs() != null || f.binarySearchDirs() != null || f.useLoaderPath() != null) {
            c = c.withSearchDirs(
                    f.librarySearchDirs() == null ? c.librarySearchDirs() : absolute("gpu.librarySearchDirs", f.librarySearchDirs()),
                    f.binarySearchDirs() == null ? c.binarySearchDirs() : absolute("gpu.binarySearchDirs", f.binarySearchDirs()),
                    f.useLoaderPath() == null ? c.useLoaderPath() : f.useLoaderPath());
        }
        if (f.driverLibraryGlobs() != null || f.driverBinaries() != null) {
            for (String g : f.driverLibraryGlobs() == null ? List.<String>of() : f.driverLibraryGlobs()) {
                if (g == null || g.isBlank() || g.contains("/")) {
                    throw new ConfigException("gpu.driverLibraryGlobs: '" + g + "' must be a file-name glob like libcuda.so* (no '/')");
                }
            }
            try {
                c = new GpuConfig(c.libraryPath(), c.librarySearchDirs(), c.useLoaderPath(), c.binarySearchDirs(),
                        f.driverLibraryGlobs() == null ? c.driverLibraryGlobs() : f.driverLibraryGlobs(),
                        f.driverBinaries() == null ? c.driverBinaries() : f.driverBinaries(),
                        c.devDir(), c.stateDir(), c.placement(), c.sampleInterval(), c.defaultQuota());
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new ConfigException("gpu.driverBinaries: " + e.getMessage());
            }
        }
        if (f.devDir() != null) {
            c = c.withDevDir(absolute("gpu.devDir", f.devDir()));
        }
        if (f.stateDir() != null) {
            Path dir = absolute("gpu.stateDir", f.stateDir());
            c = new GpuConfig(c.libraryPath(), c.librarySearchDirs(), c.useLoaderPath(), c.binarySearchDirs(),
                    c.driverLibraryGlobs(), c.driverBinaries(), c.devDir(), dir, c.placement(), c.sampleInterval(),
                    c.defaultQuota());
        }
        if (f.placement() != null) {
            c = c.withPlacement(switch (f.placement().strip().toLowerCase(Locale.ROOT)) {
                case "first-fit", "firstfit" -> Placement.FIRST_FIT;
                case "spread" -> Placement.SPREAD;
                default -> throw new ConfigException("gpu.placement: '" + f.placement() + "' is not first-fit or spread");
            });
        }
        if (f.sampleInterval() != null) {
            Duration d = duration("gpu.sampleInterval", f.sampleInterval());
            if (d.compareTo(Duration.ofMillis(100)) < 0) {
                throw new ConfigException("gpu.sampleInterval: '" + f.sampleInterval() + "' is shorter than 100ms");
            }
            c = c.withSampleInterval(d);
        }
        if (f.policy() != null || f.violationWindow() != null) {
            QuotaPolicy policy = c.defaultQuota().policy();
            if (f.policy() != null) {
                try {
                    policy = QuotaPolicy.parse(f.policy());
                } catch (InvalidGpuRequestException e) {
                    throw new ConfigException("gpu.policy: '" + f.policy() + "' is not warn or stop");
                }
            }
            int window = f.violationWindow() == null ? c.defaultQuota().violationWindow() : f.violationWindow();
            if (window < 1 || window > QuotaSettings.MAX_WINDOW) {
                throw new ConfigException("gpu.violationWindow: " + window + " is out of range 1.." + QuotaSettings.MAX_WINDOW);
            }
            c = c.withDefaultQuota(new QuotaSettings(policy, window));
        }
        return new Settings(f.enabled() == null || f.enabled(), c);
    }

    /** "500ms", "10s", "1m". */
    static Duration duration(String key, String v) throws ConfigException {
        String s = v.strip().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            long n = Long.parseLong(s.substring(0, s.length() - 1));
            return switch (s.charAt(s.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                default -> throw new NumberFormatException();
            };
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new ConfigException(key + ": '" + v + "' is not a duration like 500ms, 10s or 1m");
        }
    }

    private static Path absolute(String key, Path p) throws ConfigException {
        if (p == null || !p.isAbsolute()) {
            throw new ConfigException(key + ": '" + p + "' must be an absolute path");
        }
        return p.normalize();
    }

    private static List<Path> absolute(String key, List<Path> paths) throws ConfigException {
        for (Path p : paths) {
            absolute(key, p);
        }
        return paths.stream().map(Path::normalize).toList();
    }
}
