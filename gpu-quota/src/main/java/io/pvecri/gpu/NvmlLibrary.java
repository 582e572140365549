package io.pvecri.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The FFM binding of {@code libnvidia-ml.so.1}: one downcall per NVML function, the NVML
 * structs as {@link MemoryLayout}s (x86-64/aarch64 LP64 layouts of NVML's public header), and
 * the device handles of {@code nvmlDeviceGetHandleByIndex_v2} cached per index.
 *
 * <p>{@code nvmlDeviceGetComputeRunningProcesses_v3} and {@code nvmlDeviceGetProcessUtilization}
 * are optional (older drivers lack them): calling them then throws FUNCTION_NOT_FOUND. All other
 * functions are required to bind.
 */
final class NvmlLibrary implements Nvml {

    private static final System.Logger LOG = System.getLogger(NvmlLibrary.class.getName());
    private static final Linker LINKER = Linker.nativeLinker();

    /** {@code NVML_DEVICE_UUID_V2_BUFFER_SIZE}. */
    static final int UUID_BUFFER_SIZE = 96;
    /** {@code NVML_DEVICE_NAME_V2_BUFFER_SIZE}. */
    static final int NAME_BUFFER_SIZE = 96;
    /** {@code NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE}. */
    static final int PCI_BUS_ID_BUFFER_SIZE = 32;
    /** {@code NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE} (the legacy bus id field). */
    static final int PCI_BUS_ID_LEGACY_BUFFER_SIZE = 16;
    /** {@code NVML_TEMPERATURE_GPU}. */
    static final int TEMPERATURE_GPU = 0;
    /** {@code NVML_VALUE_NOT_AVAILABLE} as an unsigned long long. */
    static final long VALUE_NOT_AVAILABLE = -1L;

    /** {@code nvmlPciInfo_t}: 68 bytes, busId at offset 36. */
    static final StructLayout PCI_INFO = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(PCI_BUS_ID_LEGACY_BUFFER_SIZE, JAVA_BYTE).withName("busIdLegacy"),
            JAVA_INT.withName("domain"),
            JAVA_INT.withName("bus"),
            JAVA_INT.withName("device"),
            JAVA_INT.withName("pciDeviceId"),
            JAVA_INT.withName("pciSubSystemId"),
            MemoryLayout.sequenceLayout(PCI_BUS_ID_BUFFER_SIZE, JAVA_BYTE).withName("busId"));

    /** {@code nvmlMemory_t}: 3 × unsigned long long. */
    static final StructLayout MEMORY = MemoryLayout.structLayout(
            JAVA_LONG.withName("total"), JAVA_LONG.withName("free"), JAVA_LONG.withName("used"));

    /** {@code nvmlUtilization_t}: 2 × unsigned int. */
    static final StructLayout UTILIZATION = MemoryLayout.structLayout(
            JAVA_INT.withName("gpu"), JAVA_INT.withName("memory"));

    /** {@code nvmlProcessInfo_t} (= {@code nvmlProcessInfo_v2_t}): 24 bytes, 4 bytes of padding after pid. */
    static final StructLayout PROCESS_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("pid"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("usedGpuMemory"),
            JAVA_INT.withName("gpuInstanceId"),
            JAVA_INT.withName("computeInstanceId"));

    /** {@code nvmlProcessUtilizationSample_t}: 32 bytes. */
    static final StructLayout PROCESS_UTILIZATION = MemoryLayout.structLayout(
            JAVA_INT.withName("pid"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("timeStamp"),
            JAVA_INT.withName("smUtil"),
            JAVA_INT.withName("memUtil"),
            JAVA_INT.withName("encUtil"),
            JAVA_INT.withName("decUtil"));

    private static final long PCI_BUS_ID_OFFSET = PCI_INFO.byteOffset(groupElement("busId"));
    private static final long MEM_TOTAL = MEMORY.byteOffset(groupElement("total"));
    private static final long MEM_FREE = MEMORY.byteOffset(groupElement("free"));
    private static final long MEM_USED = MEMORY.byteOffset(groupElement("used"));
    private static final long UTIL_GPU = UTILIZATION.byteOffset(groupElement("gpu"));
    private static final long UTIL_MEMORY = UTILIZATION.byteOffset(groupElement("memory"));
    private static final long PI_PID = PROCESS_INFO.byteOffset(groupElement("pid"));
    private static final long PI_USED = PROCESS_INFO.byteOffset(groupElement("usedGpuMemory"));
    private static final long PI_GI = PROCESS_INFO.byteOffset(groupElement("gpuInstanceId"));
    private static final long PI_CI = PROCESS_INFO.byteOffset(groupElement("computeInstanceId"));
    private static final long PU_PID = PROCESS_UTILIZATION.byteOffset(groupElement("pid"));
    private static final long PU_TS = PROCESS_UTILIZATION.byteOffset(groupElement("timeStamp"));
    private static final long PU_SM = PROCESS_UTILIZATION.byteOffset(groupElement("smUtil"));
    private static final long PU_MEM = PROCESS_UTILIZATION.byteOffset(groupElement("memUtil"));
    private static final long PU_ENC = PROCESS_UTILIZATION.byteOffset(groupElement("encUtil"));
    private static final long PU_DEC = PROCESS_UTILIZATION.byteOffset(groupElement("decUtil"));

    /** First guess of the process table size; grown to what NVML asks for. */
    static final int INITIAL_PROCESS_CAPACITY = 16;
    private static final int GROW_ATTEMPTS = 4;

    private final String source;
    private final MethodHandle init;
    private final MethodHandle shutdown;
    private final MethodHandle errorString;
    private final MethodHandle getCount;
    private final MethodHandle getHandleByIndex;
    private final MethodHandle getUuid;
    private final MethodHandle getName;
    private final MethodHandle getMinorNumber;
    private final MethodHandle getPciInfo;
    private final MethodHandle getMemoryInfo;
    private final MethodHandle getUtilizationRates;
    private final MethodHandle getComputeRunningProcesses; // optional
    private final MethodHandle getProcessUtilization;      // optional
    private final MethodHandle getTemperature;
    private final MethodHandle getPowerUsage;

    private final ConcurrentMap<Integer, MemorySegment> handles = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private NvmlLibrary(String source, Binder b) throws NvmlException {
        this.source = source;
        // const char* nvmlErrorString(nvmlReturn_t) first: the other failures want it.
        errorString = b.required("nvmlErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        init = b.required("nvmlInit_v2", FunctionDescriptor.of(JAVA_INT));
        shutdown = b.required("nvmlShutdown", FunctionDescriptor.of(JAVA_INT));
        getCount = b.required("nvmlDeviceGetCount_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getHandleByIndex = b.required("nvmlDeviceGetHandleByIndex_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        getUuid = b.required("nvmlDeviceGetUUID", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        getName = b.required("nvmlDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        getMinorNumber = b.required("nvmlDeviceGetMinorNumber", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getPciInfo = b.required("nvmlDeviceGetPciInfo_v3", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getMemoryInfo = b.required("nvmlDeviceGetMemoryInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getUtilizationRates = b.required("nvmlDeviceGetUtilizationRates", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getComputeRunningProcesses = b.optional("nvmlDeviceGetComputeRunningProcesses_v3",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        getProcessUtilization = b.optional("nvmlDeviceGetProcessUtilization",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        getTemperature = b.required("nvmlDeviceGetTemperature", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        getPowerUsage = b.required("nvmlDeviceGetPowerUsage", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    }

    /** Binds every function of an opened library; does not call {@code nvmlInit_v2}. */
    static NvmlLibrary bind(SymbolLookup lookup, String source) throws NvmlException {
        return new NvmlLibrary(source, new Binder(lookup, source));
    }

    /** Looks symbols up; a missing required one fails the bind with FUNCTION_NOT_FOUND. */
    private record Binder(SymbolLookup lookup, String source) {
        MethodHandle required(String name, FunctionDescriptor fd) throws NvmlException {
            MethodHandle h = optional(name, fd);
            if (h == null) {
                throw new NvmlException(name, NvmlReturn.ERROR_FUNCTION_NOT_FOUND.code(),
                        "the library " + source + " does not export " + name + " (driver too old?)");
            }
            return h;
        }

        @SuppressWarnings("restricted") // downcalls into libnvidia-ml: the point of this class
        MethodHandle optional(String name, FunctionDescriptor fd) {
            Optional<MemorySegment> symbol = lookup.find(name);
            return symbol.map(s -> LINKER.downcallHandle(s, fd)).orElse(null);
        }
    }

    String source() {
        return source;
    }

    /** {@code nvmlInit_v2}; returns the raw code, the loader decides what it means. */
    int init() {
        try {
            return (int) init.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code nvmlErrorString}; never null. */
    @SuppressWarnings("restricted") // a static C string of NVML's, read up to its NUL
    String errorString(int code) {
        try {
            MemorySegment p = (MemorySegment) errorString.invokeExact(code);
            if (p.equals(MemorySegment.NULL)) {
                return "NVML error " + code;
            }
            return p.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public Optional<String> absentReason() {
        return Optional.empty();
    }

    @Override
    public int deviceCount() throws NvmlException {
        ensureOpen("nvmlDeviceGetCount_v2");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            check("nvmlDeviceGetCount_v2", (int) getCount.invokeExact(count));
            return count.get(JAVA_INT, 0);
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private MemorySegment handle(int index, String function) throws NvmlException {
        ensureOpen(function);
        MemorySegment h = handles.get(index);
        if (h != null) {
            return h;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("nvmlDeviceGetHandleByIndex_v2(" + index + ")", (int) getHandleByIndex.invokeExact(index, out));
            h = out.get(ADDRESS, 0);
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
        handles.putIfAbsent(index, h);
        return h;
    }

    @Override
    public String uuid(int index) throws NvmlException {
        return string("nvmlDeviceGetUUID", getUuid, index, UUID_BUFFER_SIZE);
    }

    @Override
    public String name(int index) throws NvmlException {
        return string("nvmlDeviceGetName", getName, index, NAME_BUFFER_SIZE);
    }

    private String string(String function, MethodHandle h, int index, int size) throws NvmlException {
        MemorySegment device = handle(index, function);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(size);
            check(function, index, (int) h.invokeExact(device, buf, size));
            buf.set(JAVA_BYTE, size - 1, (byte) 0);
            return buf.getString(0);
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int minorNumber(int index) throws NvmlException {
        return uint("nvmlDeviceGetMinorNumber", getMinorNumber, index);
    }

    @Override
    public int powerUsageMilliwatts(int index) throws NvmlException {
        return uint("nvmlDeviceGetPowerUsage", getPowerUsage, index);
    }

    private int uint(String function, MethodHandle h, int index) throws NvmlException {
        MemorySegment device = handle(index, function);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check(function, index, (int) h.invokeExact(device, out));
            return out.get(JAVA_INT, 0);
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int temperatureCelsius(int index) throws NvmlException {
        String function = "nvmlDeviceGetTemperature";
        MemorySegment device = handle(index, function);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check(function, index, (int) getTemperature.invokeExact(device, TEMPERATURE_GPU, out));
            return out.get(JAVA_INT, 0);
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public String pciBusId(int index) throws NvmlException {
        String function = "nvmlDeviceGetPciInfo_v3";
        MemorySegment device = handle(index, function);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pci = arena.allocate(PCI_INFO);
            check(function, index, (int) getPciInfo.invokeExact(device, pci));
            MemorySegment busId = pci.asSlice(PCI_BUS_ID_OFFSET, PCI_BUS_ID_BUFFER_SIZE);
            busId.set(JAVA_BYTE, PCI_BUS_ID_BUFFER_SIZE - 1, (byte) 0);
            return busId.getString(0);
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public Memory memoryInfo(int index) throws NvmlException {
        String function = "nvmlDeviceGetMemoryInfo";
        MemorySegment device = handle(index, function);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(MEMORY);
            check(function, index, (int) getMemoryInfo.invokeExact(device, m));
            return new Memory(m.get(JAVA_LONG, MEM_TOTAL), m.get(JAVA_LONG, MEM_FREE), m.get(JAVA_LONG, MEM_USED));
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public Utilization utilizationRates(int index) throws NvmlException {
        String function = "nvmlDeviceGetUtilizationRates";
        MemorySegment device = handle(index, function);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment u = arena.allocate(UTILIZATION);
            check(function, index, (int) getUtilizationRates.invokeExact(device, u));
            return new Utilization(u.get(JAVA_INT, UTIL_GPU), u.get(JAVA_INT, UTIL_MEMORY));
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public List<ProcessInfo> computeRunningProcesses(int index) throws NvmlException {
        String function = "nvmlDeviceGetComputeRunningProcesses_v3";
        if (getComputeRunningProcesses == null) {
            throw missing(function);
        }
        MemorySegment device = handle(index, function);
        int capacity = INITIAL_PROCESS_CAPACITY;
        try {
            for (int attempt = 0; ; attempt++) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment count = arena.allocate(JAVA_INT);
                    count.set(JAVA_INT, 0, capacity);
                    MemorySegment infos = arena.allocate(PROCESS_INFO, capacity);
                    int rc = (int) getComputeRunningProcesses.invokeExact(device, count, infos);
                    int n = count.get(JAVA_INT, 0);
                    if (rc == NvmlReturn.ERROR_INSUFFICIENT_SIZE.code() && attempt < GROW_ATTEMPTS) {
                        capacity = Math.max(capacity * 2, n + 8); // processes come and go between calls
                        continue;
                    }
                    check(function, index, rc);
                    List<ProcessInfo> out = new ArrayList<>(n);
                    for (int i = 0; i < Math.min(n, capacity); i++) {
                        MemorySegment e = infos.asSlice(i * PROCESS_INFO.byteSize(), PROCESS_INFO);
                        out.add(new ProcessInfo(Integer.toUnsignedLong(e.get(JAVA_INT, PI_PID)),
                                e.get(JAVA_LONG, PI_USED), e.get(JAVA_INT, PI_GI), e.get(JAVA_INT, PI_CI)));
                    }
                    return out;
                }
            }
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public List<ProcessUtilization> processUtilization(int index, long lastSeenMicros) throws NvmlException {
        String function = "nvmlDeviceGetProcessUtilization";
        if (getProcessUtilization == null) {
            throw missing(function);
        }
        MemorySegment device = handle(index, function);
        int capacity = INITIAL_PROCESS_CAPACITY;
        try {
            for (int attempt = 0; ; attempt++) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment count = arena.allocate(JAVA_INT);
                    count.set(JAVA_INT, 0, capacity);
                    MemorySegment samples = arena.allocate(PROCESS_UTILIZATION, capacity);
                    int rc = (int) getProcessUtilization.invokeExact(device, samples, count, lastSeenMicros);
                    int n = count.get(JAVA_INT, 0);
                    if (rc == NvmlReturn.ERROR_NOT_FOUND.code()) {
                        return List.of();
                    }
                    if (rc == NvmlReturn.ERROR_INSUFFICIENT_SIZE.code() && attempt < GROW_ATTEMPTS) {
                        capacity = Math.max(capacity * 2, n + 8);
                        continue;
                    }
                    check(function, index, rc);
                    List<ProcessUtilization> out = new ArrayList<>(n);
                    for (int i = 0; i < Math.min(n, capacity); i++) {
                        MemorySegment e = samples.asSlice(i * PROCESS_UTILIZATION.byteSize(), PROCESS_UTILIZATION);
                        out.add(new ProcessUtilization(Integer.toUnsignedLong(e.get(JAVA_INT, PU_PID)),
                                e.get(JAVA_LONG, PU_TS), e.get(JAVA_INT, PU_SM), e.get(JAVA_INT, PU_MEM),
                                e.get(JAVA_INT, PU_ENC), e.get(JAVA_INT, PU_DEC)));
                    }
                    return out;
                }
            }
        } catch (NvmlException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        handles.clear();
        try {
            int rc = (int) shutdown.invokeExact();
            if (rc != 0) {
                LOG.log(System.Logger.Level.WARNING, "nvmlShutdown failed: {0}", errorString(rc));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void ensureOpen(String function) throws NvmlException {
        if (closed.get()) {
            int code = NvmlReturn.ERROR_UNINITIALIZED.code();
            throw new NvmlException(function, code, errorString(code) + " (NVML was shut down)");
        }
    }

    private NvmlException missing(String function) {
        return new NvmlException(function, NvmlReturn.ERROR_FUNCTION_NOT_FOUND.code(),
                "the library " + source + " does not export " + function + " (driver too old?)");
    }

    private void check(String function, int rc) throws NvmlException {
        if (rc != 0) {
            throw new NvmlException(function, rc, errorString(rc));
        }
    }

    private void check(String function, int index, int rc) throws NvmlException {
        if (rc != 0) {
            throw new NvmlException(function + "(GPU " + index + ")", rc, errorString(rc));
        }
    }

    /** Downcalls throw nothing checked; anything else is a bug or an Error, passed on unchanged. */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected exception from an NVML downcall", t);
    }
}
