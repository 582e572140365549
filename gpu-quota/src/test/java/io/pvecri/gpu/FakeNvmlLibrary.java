package io.pvecri.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C fake {@code libnvidia-ml.so.1} (src/test/c/fake_nvml.c, built by the test build) and its
 * programming interface. Loading the same file as {@link NvmlLoader} does gives the same
 * {@code dlopen} handle, so what is set here is what the binding reads.
 */
@SuppressWarnings("restricted")
final class FakeNvmlLibrary {

    static final Path PATH = path("pvecri.fakeNvml", "target/fake-nvml/libnvidia-ml.so.1");
    /** The same fake, built without nvmlDeviceGetProcessUtilization. */
    static final Path OLD_PATH = path("pvecri.fakeNvmlOld", "target/fake-nvml-old/libnvidia-ml.so.1");

    private static final Linker LINKER = Linker.nativeLinker();
    private static final java.util.Map<Path, FakeNvmlLibrary> INSTANCES = new java.util.HashMap<>();

    private final MethodHandle reset;
    private final MethodHandle setDeviceCount;
    private final MethodHandle setDevice;
    private final MethodHandle setMemoryUsed;
    private final MethodHandle setUtilization;
    private final MethodHandle setSensors;
    private final MethodHandle setProcesses;
    private final MethodHandle injectError;
    private final MethodHandle initRefs;
    private final MethodHandle shutdownCalls;

    private static Path path(String property, String fallback) {
        return Path.of(System.getProperty(property, fallback)).toAbsolutePath();
    }

    private FakeNvmlLibrary(SymbolLookup lib) {
        reset = h(lib, "fake_nvml_reset", FunctionDescriptor.ofVoid());
        setDeviceCount = h(lib, "fake_nvml_set_device_count", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        setDevice = h(lib, "fake_nvml_set_device",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        setMemoryUsed = h(lib, "fake_nvml_set_memory_used", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
        setUtilization = h(lib, "fake_nvml_set_utilization", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setSensors = h(lib, "fake_nvml_set_sensors", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setProcesses = h(lib, "fake_nvml_set_processes",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        injectError = h(lib, "fake_nvml_inject_error", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        initRefs = h(lib, "fake_nvml_init_refs", FunctionDescriptor.of(JAVA_INT));
        shutdownCalls = h(lib, "fake_nvml_shutdown_calls", FunctionDescriptor.of(JAVA_LONG));
    }

    private static MethodHandle h(SymbolLookup lib, String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(lib.find(name).orElseThrow(() -> new IllegalStateException(name)), fd);
    }

    /** The fake, reset to no devices and no injected errors. */
    static FakeNvmlLibrary get() {
        return get(PATH);
    }

    /** The fake at {@code path} ({@link #PATH} or {@link #OLD_PATH}), reset. */
    static synchronized FakeNvmlLibrary get(Path path) {
        FakeNvmlLibrary f = INSTANCES.get(path);
        if (f == null) {
            if (!Files.isRegularFile(path)) {
                throw new IllegalStateException(path + " is missing: build it with ./mvnw -pl gpu-quota "
                        + "generate-test-resources (needs gcc)");
            }
            f = new FakeNvmlLibrary(SymbolLookup.libraryLookup(path, Arena.global()));
            INSTANCES.put(path, f);
        }
        f.reset();
        return f;
    }

    void reset() {
        try {
            reset.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** {@code count} devices GPU-c0ffee00-…0N, minors 0.., 80 GiB each, bus ids 0000000N:00:00.0. */
    FakeNvmlLibrary devices(int count) {
        try {
            check((int) setDeviceCount.invokeExact(count));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        for (int i = 0; i < count; i++) {
            device(i, uuid(i), "Fake H100 " + i, i, String.format("%08X:%02X:00.0", 0, i + 0x17), 80L << 30);
        }
        return this;
    }

    static String uuid(int i) {
        return String.format("GPU-c0ffee00-0000-4000-8000-%012d", i);
    }

    FakeNvmlLibrary device(int index, String uuid, String name, int minor, String busId, long totalBytes) {
        try (Arena a = Arena.ofConfined()) {
            check((int) setDevice.invokeExact(index, a.allocateFrom(uuid), a.allocateFrom(name), minor,
                    a.allocateFrom(busId), totalBytes));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return this;
    }

    FakeNvmlLibrary memoryUsed(int index, long bytes) {
        try {
            check((int) setMemoryUsed.invokeExact(index, bytes));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return this;
    }

    FakeNvmlLibrary utilization(int index, int gpu, int memory) {
        try {
            check((int) setUtilization.invokeExact(index, gpu, memory));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return this;
    }

    FakeNvmlLibrary sensors(int index, int temperatureC, int powerMw) {
        try {
            check((int) setSensors.invokeExact(index, temperatureC, powerMw));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return this;
    }

    /** Replaces the compute processes of GPU {@code index}. */
    FakeNvmlLibrary processes(int index, long[] pids, long[] usedBytes, int[] smPercent) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT, Math.max(1, pids.length));
            for (int i = 0; i < pids.length; i++) {
                p.setAtIndex(JAVA_INT, i, (int) pids[i]);
            }
            MemorySegment u = a.allocate(JAVA_LONG, Math.max(1, usedBytes.length));
            for (int i = 0; i < usedBytes.length; i++) {
                u.setAtIndex(JAVA_LONG, i, usedBytes[i]);
            }
            MemorySegment s = a.allocate(JAVA_INT, Math.max(1, smPercent.length));
            for (int i = 0; i < smPercent.length; i++) {
                s.setAtIndex(JAVA_INT, i, smPercent[i]);
            }
            check((int) setProcesses.invokeExact(index, pids.length, p, u, s));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return this;
    }

    /** Every call of {@code function} returns {@code code} until cleared with code 0. */
    FakeNvmlLibrary inject(String function, NvmlReturn code) {
        return inject(function, code.code());
    }

    FakeNvmlLibrary inject(String function, int code) {
        try (Arena a = Arena.ofConfined()) {
            check((int) injectError.invokeExact(a.allocateFrom(function), code));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return this;
    }

    int initRefs() {
        try {
            return (int) initRefs.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    long shutdownCalls() {
        try {
            return (long) shutdownCalls.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static void check(int rc) {
        if (rc != 0) {
            throw new IllegalArgumentException("fake_nvml_* call refused its arguments");
        }
    }
}
