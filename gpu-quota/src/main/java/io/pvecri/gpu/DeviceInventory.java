package io.pvecri.gpu;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The GPUs found at start, by index and UUID. Immutable. */
final class DeviceInventory {

    private static final System.Logger LOG = System.getLogger(DeviceInventory.class.getName());

    private final List<GpuDevice> devices;
    private final Map<String, GpuDevice> byUuid;

    DeviceInventory(List<GpuDevice> devices) {
        this.devices = List.copyOf(devices);
        this.byUuid = this.devices.stream().collect(Collectors.toUnmodifiableMap(GpuDevice::uuid, Function.identity()));
    }

    /**
     * Asks NVML for every device. A device that fails (lost, no permission) is left out with a
     * warning: the others stay usable.
     */
    static DeviceInventory discover(Nvml nvml) throws NvmlException {
        int count = nvml.deviceCount();
        List<GpuDevice> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            try {
                out.add(new GpuDevice(i, nvml.uuid(i), nvml.name(i), nvml.minorNumber(i), nvml.pciBusId(i),
                        nvml.memoryInfo(i).totalBytes()));
            } catch (NvmlException e) {
                LOG.log(System.Logger.Level.WARNING, "GPU {0} left out of the inventory: {1}", i, e.getMessage());
            }
        }
        return new DeviceInventory(out);
    }

    List<GpuDevice> devices() {
        return devices;
    }

    boolean isEmpty() {
        return devices.isEmpty();
    }

    Optional<GpuDevice> byUuid(String uuid) {
        return Optional.ofNullable(byUuid.get(uuid));
    }

    Optional<GpuDevice> byIndex(int index) {
        return devices.stream().filter(d -> d.index() == index).findFirst();
    }

    /** A GPU named as NVIDIA_VISIBLE_DEVICES names them: a UUID or an NVML index. */
    Optional<GpuDevice> byId(String id) {
        if (!id.isEmpty() && id.chars().allMatch(Character::isDigit)) {
            try {
                return byIndex(Integer.parseInt(id));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return byUuid(id);
    }
}
