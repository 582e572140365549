package io.pvecri.gpu;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a GPU container needs from the host, for the daemon to turn into LXC config: each device
 * node becomes a device-cgroup allow rule ({@link DeviceNode#cgroupRule()}) and a bind mount
 * ({@code lxc.mount.entry = <host> <container path without leading /> none bind,create=file});
 * each driver file becomes a read-only bind mount; env is added to the container's environment.
 *
 * @param gpuUuids the GPUs, in the order CUDA sees them inside the container (index 0, 1, ...)
 */
public record GpuPassthrough(List<String> gpuUuids, List<DeviceNode> devices, List<BindMount> mounts,
                             Map<String, String> env) {

    public GpuPassthrough {
        gpuUuids = List.copyOf(gpuUuids);
        devices = List.copyOf(devices);
        mounts = List.copyOf(mounts);
        env = Map.copyOf(env);
    }

    /** A character device node of the host, with its numbers as the host's stat gives them. */
    public record DeviceNode(Path hostPath, Path containerPath, int major, int minor) {
        /** {@code c 195:0 rwm}: the value of {@code lxc.cgroup2.devices.allow} (or v1 {@code lxc.cgroup.devices.allow}). */
        public String cgroupRule() {
            return "c " + major + ":" + minor + " rwm";
        }
    }

    /** A host file bind-mounted into the container. */
    public record BindMount(Path hostPath, Path containerPath, boolean readOnly) {
    }
}
