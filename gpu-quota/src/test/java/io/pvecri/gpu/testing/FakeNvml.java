package io.pvecri.gpu.testing;

import io.pvecri.gpu.Nvml;
import io.pvecri.gpu.NvmlException;
import io.pvecri.gpu.NvmlReturn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An in-process {@link Nvml} with programmable devices, processes and errors, for tests of
 * allocation and monitoring (and the daemon's tests, through the gpu-quota test-jar). Behaves
 * as NVML does where it matters: per-process utilization samples are newer than
 * {@code lastSeenMicros} while a process is busy, and none (empty) when no process is.
 */
public final class FakeNvml implements Nvml {

    /** A programmable GPU. */
    public static final class Device {
        final String uuid;
        final String name;
        final int minor;
        final String busId;
        final long totalBytes;
        volatile long usedBytes;
        volatile int utilGpu;
        volatile int utilMemory;
        volatile int temperature = 40;
        volatile int powerMw = 70_000;
        final List<Proc> processes = new CopyOnWriteArrayList<>();

        Device(String uuid, String name, int minor, String busId, long totalBytes) {
            this.uuid = uuid;
            this.name = name;
            this.minor = minor;
            this.busId = busId;
            this.totalBytes = totalBytes;
        }

        public Device utilization(int gpu, int memory) {
            this.utilGpu = gpu;
            this.utilMemory = memory;
            return this;
        }

        public Device memoryUsed(long bytes) {
            this.usedBytes = bytes;
            return this;
        }

        public Device sensors(int temperatureC, int powerMilliwatts) {
            this.temperature = temperatureC;
            this.powerMw = powerMilliwatts;
            return this;
        }

        /** Replaces the processes; {@code smPercent} is what per-process sampling reports. */
        public Device processes(Proc... procs) {
            processes.clear();
            processes.addAll(List.of(procs));
            return this;
        }
    }

    /** A compute process: host pid, device memory, SM utilization. */
    public record Proc(long pid, long usedBytes, int smPercent) {
    }

    private final List<Device> devices = new CopyOnWriteArrayList<>();
    private final Map<String, Integer> errors = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean processUtilizationSupported = true;

    public static final long GIB = 1024L * 1024 * 1024;

    /** {@code count} GPUs of {@code memoryGib} each: GPU-fake-0000…, minors 0.., bus ids 0000:0N:00.0. */
    public static FakeNvml withGpus(int count, long memoryGib) {
        FakeNvml f = new FakeNvml();
        for (int i = 0; i < count; i++) {
            f.add(String.format("GPU-fake-%04d-0000-0000-000000000000", i), "Fake GPU " + memoryGib + "GB", i,
                    String.format("00000000:%02X:00.0", i + 1), memoryGib * GIB);
        }
        return f;
    }

    public Device add(String uuid, String name, int minor, String busId, long totalBytes) {
        Device d = new Device(uuid, name, minor, busId, totalBytes);
        devices.add(d);
        return d;
    }

    public Device device(int index) {
        return devices.get(index);
    }

    /** Makes every call of the NVML function {@code function} fail with {@code code}; SUCCESS clears it. */
    public void failWith(String function, NvmlReturn code) {
        if (code == NvmlReturn.SUCCESS) {
            errors.remove(function);
        } else {
            errors.put(function, code.code());
        }
    }

    /** As a driver without per-process utilization (NOT_SUPPORTED). */
    public void processUtilizationSupported(boolean supported) {
        this.processUtilizationSupported = supported;
    }

    public boolean isClosed() {
        return closed.get();
    }

    private Device dev(String function, int index) throws NvmlException {
        Integer code = errors.get(function);
        if (code != null) {
            throw new NvmlException(function + "(GPU " + index + ")", code, "fake: " + NvmlReturn.of(code));
        }
        if (closed.get()) {
            throw new NvmlException(function, NvmlReturn.ERROR_UNINITIALIZED.code(), "Uninitialized");
        }
        if (index < 0 || index >= devices.size()) {
            throw new NvmlException(function + "(GPU " + index + ")", NvmlReturn.ERROR_INVALID_ARGUMENT.code(),
                    "Invalid Argument");
        }
        return devices.get(index);
    }

    @Override
    public Optional<String> absentReason() {
        return Optional.empty();
    }

    @Override
    public int deviceCount() throws NvmlException {
        Integer code = errors.get("nvmlDeviceGetCount_v2");
        if (code != null) {
            throw new NvmlException("nvmlDeviceGetCount_v2", code, "fake: " + NvmlReturn.of(code));
        }
        return devices.size();
    }

    @Override
    public String uuid(int index) throws NvmlException {
        return dev("nvmlDeviceGetUUID", index).uuid;
    }

    @Override
    public String name(int index) throws NvmlException {
        return dev("nvmlDeviceGetName", index).name;
    }

    @Override
    public int minorNumber(int index) throws NvmlException {
        return dev("nvmlDeviceGetMinorNumber", index).minor;
    }

    @Override
    public String pciBusId(int index) throws NvmlException {
        return dev("nvmlDeviceGetPciInfo_v3", index).busId;
    }

    @Override
    public Memory memoryInfo(int index) throws NvmlException {
        Device d = dev("nvmlDeviceGetMemoryInfo", index);
        long used = d.usedBytes;
        if (used == 0) {
            for (Proc p : d.processes) {
                used += p.usedBytes();
            }
        }
        return new Memory(d.totalBytes, Math.max(0, d.totalBytes - used), used);
    }

    @Override
    public Utilization utilizationRates(int index) throws NvmlException {
        Device d = dev("nvmlDeviceGetUtilizationRates", index);
        return new Utilization(d.utilGpu, d.utilMemory);
    }

    @Override
    public List<ProcessInfo> computeRunningProcesses(int index) throws NvmlException {
        Device d = dev("nvmlDeviceGetComputeRunningProcesses_v3", index);
        List<ProcessInfo> out = new ArrayList<>();
        for (Proc p : d.processes) {
            out.add(new ProcessInfo(p.pid(), p.usedBytes(), -1, -1));
        }
        return out;
    }

    @Override
    public List<ProcessUtilization> processUtilization(int index, long lastSeenMicros) throws NvmlException {
        Device d = dev("nvmlDeviceGetProcessUtilization", index);
        if (!processUtilizationSupported) {
            throw new NvmlException("nvmlDeviceGetProcessUtilization(GPU " + index + ")",
                    NvmlReturn.ERROR_NOT_SUPPORTED.code(), "Not Supported");
        }
        long now = Math.max(lastSeenMicros + 1, System.currentTimeMillis() * 1000);
        List<ProcessUtilization> out = new ArrayList<>();
        for (Proc p : d.processes) {
            if (p.smPercent() > 0) {
                out.add(new ProcessUtilization(p.pid(), now, p.smPercent(), 0, 0, 0));
            }
        }
        return out;
    }

    @Override
    public int temperatureCelsius(int index) throws NvmlException {
        return dev("nvmlDeviceGetTemperature", index).temperature;
    }

    @Override
    public int powerUsageMilliwatts(int index) throws NvmlException {
        return dev("nvmlDeviceGetPowerUsage", index).powerMw;
    }

    @Override
    public void close() {
        closed.set(true);
    }
}
