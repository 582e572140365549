package io.pvecri.gpu;

import java.util.List;
import java.util.Optional;

/**
 * The NVML queries pve-cri uses, one method per NVML function, devices named by their NVML
 * index. Implemented by the FFM binding of {@code libnvidia-ml.so.1} ({@link #load}), by the
 * "no NVML on this host" stand-in (zero devices), and by in-process fakes in tests.
 *
 * <p>Implementations are thread-safe (NVML itself is). Every failing call throws
 * {@link NvmlException} with NVML's return code and message.
 */
public interface Nvml extends AutoCloseable {

    /**
     * Loads NVML as {@code config} says: the configured library path, else
     * {@code libnvidia-ml.so.1} in the search dirs, else through the dynamic loader. When no
     * library is found, or {@code nvmlInit_v2} says the driver is not loaded, this returns an
     * instance with zero devices and logs one line saying so.
     *
     * @throws NvmlException when the library is there but {@code nvmlInit_v2} fails otherwise
     *                       (e.g. NO_PERMISSION), or a required function is missing
     */
    static Nvml load(GpuConfig config) throws NvmlException {
        return NvmlLoader.load(config);
    }

    /** Why this host has no NVML, when it has none; empty when NVML is loaded. */
    Optional<String> absentReason();

    /** {@code nvmlDeviceGetCount_v2}. */
    int deviceCount() throws NvmlException;

    /** {@code nvmlDeviceGetUUID}, e.g. {@code GPU-2f6b0c1e-...}. */
    String uuid(int index) throws NvmlException;

    /** {@code nvmlDeviceGetName}, e.g. {@code NVIDIA H100 80GB HBM3}. */
    String name(int index) throws NvmlException;

    /** {@code nvmlDeviceGetMinorNumber}: the N of {@code /dev/nvidiaN}. */
    int minorNumber(int index) throws NvmlException;

    /** {@code nvmlDeviceGetPciInfo_v3}: the {@code busId} field, {@code domain:bus:device.function}. */
    String pciBusId(int index) throws NvmlException;

    /** {@code nvmlDeviceGetMemoryInfo}. */
    Memory memoryInfo(int index) throws NvmlException;

    /** {@code nvmlDeviceGetUtilizationRates}. */
    Utilization utilizationRates(int index) throws NvmlException;

    /** {@code nvmlDeviceGetComputeRunningProcesses_v3}. */
    List<ProcessInfo> computeRunningProcesses(int index) throws NvmlException;

    /**
     * {@code nvmlDeviceGetProcessUtilization}: samples newer than {@code lastSeenMicros}
     * (0 = all the driver keeps). Empty when the driver has none (NVML's NOT_FOUND).
     *
     * @throws NvmlException NOT_SUPPORTED on devices (or drivers) without per-process sampling
     */
    List<ProcessUtilization> processUtilization(int index, long lastSeenMicros) throws NvmlException;

    /** {@code nvmlDeviceGetTemperature} of the GPU die sensor ({@code NVML_TEMPERATURE_GPU}), in °C. */
    int temperatureCelsius(int index) throws NvmlException;

    /** {@code nvmlDeviceGetPowerUsage}, in milliwatts. */
    int powerUsageMilliwatts(int index) throws NvmlException;

    /** {@code nvmlShutdown}; idempotent, never throws. */
    @Override
    void close();

    /** {@code nvmlMemory_t}: bytes. */
    record Memory(long totalBytes, long freeBytes, long usedBytes) {
    }

    /** {@code nvmlUtilization_t}: percent of the last sample period. */
    record Utilization(int gpuPercent, int memoryPercent) {
    }

    /**
     * {@code nvmlProcessInfo_t} (v2 layout, used by the _v3 function).
     *
     * @param usedGpuMemoryBytes -1 when NVML reports {@code NVML_VALUE_NOT_AVAILABLE}
     * @param gpuInstanceId      -1 ({@code 0xFFFFFFFF}) unless MIG is enabled
     */
    record ProcessInfo(long pid, long usedGpuMemoryBytes, int gpuInstanceId, int computeInstanceId) {
    }

    /** {@code nvmlProcessUtilizationSample_t}. */
    record ProcessUtilization(long pid, long timestampMicros, int smPercent, int memoryPercent,
                              int encoderPercent, int decoderPercent) {
    }
}
