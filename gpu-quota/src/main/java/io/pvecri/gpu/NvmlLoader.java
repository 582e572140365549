package io.pvecri.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and opens {@code libnvidia-ml.so.1}, or decides that this host has no NVML. The only
 * class that logs about NVML's presence: one line either way.
 */
final class NvmlLoader {

    private static final System.Logger LOG = System.getLogger(NvmlLoader.class.getName());

    private NvmlLoader() {
    }

    static Nvml load(GpuConfig config) throws NvmlException {
        List<String> tried = new ArrayList<>();
        Opened opened = open(config, tried);
        if (opened == null) {
            return absent("no " + GpuConfig.LIBRARY_NAME + " (tried " + String.join(", ", tried) + ")");
        }
        NvmlLibrary library = NvmlLibrary.bind(opened.lookup(), opened.source());
        int rc = library.init();
        NvmlReturn code = NvmlReturn.of(rc);
        if (code == NvmlReturn.ERROR_DRIVER_NOT_LOADED || code == NvmlReturn.ERROR_LIBRARY_NOT_FOUND) {
            return absent(opened.source() + ": nvmlInit_v2 says " + library.errorString(rc) + " ("
                    + code.constant(rc) + ")");
        }
        if (rc != 0) {
            throw new NvmlException("nvmlInit_v2 (" + opened.source() + ")", rc, library.errorString(rc));
        }
        int count;
        try {
            count = library.deviceCount();
        } catch (NvmlException e) {
            library.close();
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, "NVML loaded from {0}: {1} GPU(s)", opened.source(), count);
        return library;
    }

    private static Nvml absent(String reason) {
        LOG.log(System.Logger.Level.INFO,
                "no NVIDIA GPUs on this node: {0}; GPU requests will be refused, everything else works", reason);
        return new AbsentNvml(reason);
    }

    private record Opened(SymbolLookup lookup, String source) {
    }

    @SuppressWarnings("restricted") // loading libnvidia-ml is this class's job
    private static Opened open(GpuConfig config, List<String> tried) {
        if (config.libraryPath().isPresent()) {
            return openFile(config.libraryPath().get(), tried);
        }
        for (Path dir : config.librarySearchDirs()) {
            Opened o = openFile(dir.resolve(GpuConfig.LIBRARY_NAME), tried);
            if (o != null) {
                return o;
            }
        }
        if (config.useLoaderPath()) {
            try {
                return new Opened(SymbolLookup.libraryLookup(GpuConfig.LIBRARY_NAME, Arena.global()),
                        GpuConfig.LIBRARY_NAME + " (dynamic loader)");
            } catch (IllegalArgumentException e) {
                tried.add("the dynamic loader");
            }
        }
        return null;
    }

    @SuppressWarnings("restricted")
    private static Opened openFile(Path file, List<String> tried) {
        if (!Files.exists(file)) {
            tried.add(file.toString());
            return null;
        }
        try {
            return new Opened(SymbolLookup.libraryLookup(file, Arena.global()), file.toString());
        } catch (IllegalArgumentException e) {
            tried.add(file + " (cannot be loaded: " + e.getMessage() + ")");
            return null;
        }
    }
}
