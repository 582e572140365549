package io.pvecri.gpu;

import java.util.List;
import java.util.Optional;

/** NVML on a host without it: zero devices, every device query refused. */
final class AbsentNvml implements Nvml {

    private final String reason;

    AbsentNvml(String reason) {
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

    private NvmlException noDevice(String function, int index) {
        return new NvmlException(function + "(GPU " + index + ")", NvmlReturn.ERROR_INVALID_ARGUMENT.code(),
                "no such GPU, NVML is not available: " + reason);
    }

    @Override
    public String uuid(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetUUID", index);
    }

    @Override
    public String name(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetName", index);
    }

    @Override
    public int minorNumber(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetMinorNumber", index);
    }

    @Override
    public String pciBusId(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetPciInfo_v3", index);
    }

    @Override
    public Memory memoryInfo(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetMemoryInfo", index);
    }

    @Override
    public Utilization utilizationRates(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetUtilizationRates", index);
    }

    @Override
    public List<ProcessInfo> computeRunningProcesses(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetComputeRunningProcesses_v3", index);
    }

    @Override
    public List<ProcessUtilization> processUtilization(int index, long lastSeenMicros) throws NvmlException {
        throw noDevice("nvmlDeviceGetProcessUtilization", index);
    }

    @Override
    public int temperatureCelsius(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetTemperature", index);
    }

    @Override
    public int powerUsageMilliwatts(int index) throws NvmlException {
        throw noDevice("nvmlDeviceGetPowerUsage", index);
    }

    @Override
    public void close() {
    }
}
