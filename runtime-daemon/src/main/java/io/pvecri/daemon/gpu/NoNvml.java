package io.pvecri.daemon.gpu;

import io.pvecri.gpu.Nvml;
import io.pvecri.gpu.NvmlException;
import io.pvecri.gpu.NvmlReturn;

import java.util.List;
import java.util.Optional;

/**
 * NVML that the daemon chose not to use (GPUs disabled in the config, or NVML failed to
 * initialise): zero devices, so the GPU service runs and refuses GPU requests with the reason.
 */
final class NoNvml implements Nvml {
    private final String reason;

    NoNvml(String reason) {
        this.reason = reason;
    }

    @Override
    public Optional<String> absentReason() {
        return Optional.of(reason);
    }

    @Override
    public int deviceCount() {
        return 0;
    }

    private NvmlException none(String function) {
        return new NvmlException(function, NvmlReturn.ERROR_INVALID_ARGUMENT.code(), "no GPUs: " + reason);
    }

    @Override
    public String uuid(int index) throws NvmlException {
        throw none("nvmlDeviceGetUUID");
    }

    @Override
    public String name(int index) throws NvmlException {
        throw none("nvmlDeviceGetName");
    }

    @Override
    public int minorNumber(int index) throws NvmlException {
        throw none("nvmlDeviceGetMinorNumber");
    }

    @Override
    public String pciBusId(int index) throws NvmlException {
        throw none("nvmlDeviceGetPciInfo_v3");
    }

    @Override
    public Memory memoryInfo(int index) throws NvmlException {
        throw none("nvmlDeviceGetMemoryInfo");
    }

    @Override
    public Utilization utilizationRates(int index) throws NvmlException {
        throw none("nvmlDeviceGetUtilizationRates");
    }

    @Override
    public List<ProcessInfo> computeRunningProcesses(int index) throws NvmlException {
        throw none("nvmlDeviceGetComputeRunningProcesses_v3");
    }

    @Override
    public List<ProcessUtilization> processUtilization(int index, long lastSeenMicros) throws NvmlException {
        throw none("nvmlDeviceGetProcessUtilization");
    }

    @Override
    public int temperatureCelsius(int index) throws NvmlException {
        throw none("nvmlDeviceGetTemperature");
    }

    @Override
    public int powerUsageMilliwatts(int index) throws NvmlException {
        throw none("nvmlDeviceGetPowerUsage");
    }

    @Override
    public void close() {
    }
}
