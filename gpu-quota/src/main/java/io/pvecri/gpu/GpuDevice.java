package io.pvecri.gpu;

/**
 * One NVIDIA GPU as NVML reports it.
 *
 * @param index            NVML index (may change across reboots; the UUID does not)
 * @param uuid             {@code GPU-...}
 * @param minor            N of {@code /dev/nvidiaN}
 * @param pciBusId         {@code domain:bus:device.function}
 * @param memoryTotalBytes framebuffer size
 */
public record GpuDevice(int index, String uuid, String name, int minor, String pciBusId, long memoryTotalBytes) {

    static final long MIB = 1024L * 1024L;

    /** Total memory in whole MiB, the unit of memory shares. */
    public long memoryTotalMib() {
        return memoryTotalBytes / MIB;
    }
}
