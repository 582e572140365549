package io.pvecri.gpu;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Reads one sample of every GPU from NVML: memory, utilization, sensors, compute processes and
 * their owners, and each process's compute share.
 *
 * <p>Per-process compute comes from {@code nvmlDeviceGetProcessUtilization} (samples newer than
 * the previous call, averaged per PID; a process without a sample used no SM time). Where the
 * driver does not support it, a GPU falls back for good to splitting the device utilization in
 * proportion to process memory ({@link UtilizationSource#MEMORY_PROPORTIONAL}). Not thread-safe:
 * one sampling thread.
 */
final class UsageSampler {

    private static final System.Logger LOG = System.getLogger(UsageSampler.class.getName());

    /** One process on one GPU. {@code usedBytes} is 0 when NVML cannot say. */
    record ProcessSample(long pid, Optional<String> containerId, long usedBytes, double computePercent) {
    }

    record DeviceSample(GpuDevice device, GpuReading reading, List<ProcessSample> processes) {
    }

    private static final class DeviceState {
        boolean processSamples = true;
        boolean temperature = true;
        boolean power = true;
        long lastSeenMicros;
    }

    private final Nvml nvml;
    private final DeviceInventory inventory;
    private final ProcessOwner owner;
    private final Map<Integer, DeviceState> states = new HashMap<>();

    UsageSampler(Nvml nvml, DeviceInventory inventory, ProcessOwner owner) {
        this.nvml = nvml;
        this.inventory = inventory;
        this.owner = owner;
    }

    List<DeviceSample> sample() {
        List<DeviceSample> out = new ArrayList<>(inventory.devices().size());
        for (GpuDevice d : inventory.devices()) {
            out.add(sample(d, states.computeIfAbsent(d.index(), i -> new DeviceState())));
        }
        return out;
    }

    private DeviceSample sample(GpuDevice d, DeviceState state) {
        int i = d.index();
        List<String> errors = new ArrayList<>();
        Nvml.Memory memory = new Nvml.Memory(d.memoryTotalBytes(), 0, 0);
        try {
            memory = nvml.memoryInfo(i);
        } catch (NvmlException e) {
            errors.add(e.getMessage());
        }
        Nvml.Utilization util = new Nvml.Utilization(0, 0);
        try {
            util = nvml.utilizationRates(i);
        } catch (NvmlException e) {
            errors.add(e.getMessage());
        }
        OptionalInt temperature = OptionalInt.empty();
        if (state.temperature) {
            try {
                temperature = OptionalInt.of(nvml.temperatureCelsius(i));
            } catch (NvmlException e) {
                state.temperature = !unsupported(e);
                if (state.temperature) {
                    errors.add(e.getMessage());
                }
            }
        }
        OptionalInt power = OptionalInt.empty();
        if (state.power) {
            try {
                power = OptionalInt.of(nvml.powerUsageMilliwatts(i));
            } catch (NvmlException e) {
                state.power = !unsupported(e);
                if (state.power) {
                    errors.add(e.getMessage());
                }
            }
        }
        List<Nvml.ProcessInfo> infos = List.of();
        try {
            infos = nvml.computeRunningProcesses(i);
        } catch (NvmlException e) {
            errors.add(e.getMessage());
        }

        Map<Long, Double> perPid = null;
        UtilizationSource source = UtilizationSource.MEMORY_PROPORTIONAL;
        if (state.processSamples && !infos.isEmpty()) {
            try {
                perPid = averageByPid(nvml.processUtilization(i, state.lastSeenMicros), state);
                source = UtilizationSource.PROCESS_SAMPLES;
            } catch (NvmlException e) {
                if (unsupported(e)) {
                    state.processSamples = false;
                    LOG.log(System.Logger.Level.INFO, "GPU {0} ({1}) has no per-process utilization ({2}); "
                            + "splitting device utilization by process memory instead", i, d.uuid(), e.nvmlMessage());
                } else {
                    errors.add(e.getMessage());
                }
            }
        } else if (state.processSamples) {
            source = UtilizationSource.PROCESS_SAMPLES;
        }

        long totalUsed = 0;
        for (Nvml.ProcessInfo p : infos) {
            totalUsed += Math.max(0, p.usedGpuMemoryBytes());
        }
        List<ProcessSample> processes = new ArrayList<>(infos.size());
        long unattributed = 0;
        for (Nvml.ProcessInfo p : infos) {
            long used = Math.max(0, p.usedGpuMemoryBytes());
            double compute;
            if (perPid != null) {
                compute = perPid.getOrDefault(p.pid(), 0.0);
            } else if (totalUsed > 0) {
                compute = util.gpuPercent() * (double) used / totalUsed;
            } else {
                compute = (double) util.gpuPercent() / infos.size();
            }
            Optional<String> container = owner.containerOf(p.pid());
            if (container.isEmpty()) {
                unattributed += used;
            }
            processes.add(new ProcessSample(p.pid(), container, used, Math.min(100.0, compute)));
        }
        GpuReading reading = new GpuReading(i, d.uuid(), d.name(), memory.totalBytes(), memory.usedBytes(),
                memory.freeBytes(), util.gpuPercent(), util.memoryPercent(), temperature, power, infos.size(),
                unattributed, source, errors.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", errors)));
        return new DeviceSample(d, reading, processes);
    }

    private static Map<Long, Double> averageByPid(List<Nvml.ProcessUtilization> samples, DeviceState state) {
        Map<Long, double[]> sums = new HashMap<>();
        for (Nvml.ProcessUtilization s : samples) {
            double[] acc = sums.computeIfAbsent(s.pid(), k -> new double[2]);
            acc[0] += s.smPercent();
            acc[1]++;
            state.lastSeenMicros = Math.max(state.lastSeenMicros, s.timestampMicros());
        }
        Map<Long, Double> out = new HashMap<>();
        sums.forEach((pid, acc) -> out.put(pid, acc[0] / acc[1]));
        return out;
    }

    private static boolean unsupported(NvmlException e) {
        return e.error() == NvmlReturn.ERROR_NOT_SUPPORTED || e.error() == NvmlReturn.ERROR_FUNCTION_NOT_FOUND;
    }
}
