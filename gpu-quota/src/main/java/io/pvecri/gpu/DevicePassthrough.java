package io.pvecri.gpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/** Describes what an allocation needs passed into its container: device nodes, driver files, env. */
final class DevicePassthrough {

    private static final System.Logger LOG = System.getLogger(DevicePassthrough.class.getName());

    static final String CONTROL_NODE = "nvidiactl";
    /** Present on most hosts; passed when they exist. */
    static final List<String> OPTIONAL_NODES = List.of("nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset");
    private static final int S_IFMT = 0170000;
    private static final int S_IFCHR = 0020000;
    private static final Path CONTAINER_DEV = Path.of("/dev");

    private final DeviceInventory inventory;
    private final Path devDir;
    private final DriverFiles driverFiles;

    DevicePassthrough(DeviceInventory inventory, GpuConfig config) {
        this.inventory = inventory;
        this.devDir = config.devDir();
        this.driverFiles = new DriverFiles(config);
    }

    GpuPassthrough describe(GpuAllocation allocation) throws GpuIoException {
        List<GpuDevice> gpus = new ArrayList<>();
        for (String uuid : allocation.gpuUuids()) {
            Optional<GpuDevice> d = inventory.byUuid(uuid);
            if (d.isEmpty()) {
                throw new GpuIoException("container " + allocation.containerId() + " holds GPU " + uuid
                        + ", which this node no longer has");
            }
            gpus.add(d.get());
        }
        List<GpuPassthrough.DeviceNode> nodes = new ArrayList<>();
        if (!gpus.isEmpty()) {
            for (GpuDevice d : gpus) {
                nodes.add(node("nvidia" + d.minor(), true));
            }
            nodes.add(node(CONTROL_NODE, true));
            for (String name : OPTIONAL_NODES) {
                GpuPassthrough.DeviceNode n = node(name, false);
                if (n != null) {
                    nodes.add(n);
                }
            }
        }
        List<GpuPassthrough.BindMount> mounts;
        try {
            mounts = driverFiles.find().stream().map(p -> new GpuPassthrough.BindMount(p, p, true)).toList();
        } catch (IOException e) {
            throw new GpuIoException("cannot list the NVIDIA driver files", e);
        }
        List<String> uuids = gpus.stream().map(GpuDevice::uuid).toList();
        return new GpuPassthrough(uuids, nodes, mounts, env(allocation, uuids));
    }

    private static Map<String, String> env(GpuAllocation a, List<String> uuids) {
        Map<String, String> env = new LinkedHashMap<>();
        if (a.kind() == GpuAllocation.Kind.DRIVER_ONLY) {
            env.put(GpuRequests.VISIBLE_DEVICES_ENV, "none");
        } else {
            env.put(GpuRequests.VISIBLE_DEVICES_ENV, String.join(",", uuids));
            // Only the allocated nodes exist in the container, so CUDA numbers them from 0.
            env.put("CUDA_VISIBLE_DEVICES",
                    IntStream.range(0, uuids.size()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        }
        env.put("NVIDIA_DRIVER_CAPABILITIES", "compute,utility");
        if (a.kind() == GpuAllocation.Kind.SHARE) {
            if (a.memoryMib() > 0) {
                env.put("PVECRI_GPU_MEMORY_MIB", Long.toString(a.memoryMib()));
            }
            if (a.computePercent() > 0) {
                env.put("PVECRI_GPU_COMPUTE_PERCENT", Integer.toString(a.computePercent()));
            }
        }
        return env;
    }

    /** A device node under devDir with its stat numbers; null for a missing optional node. */
    private GpuPassthrough.DeviceNode node(String name, boolean required) throws GpuIoException {
        Path host = devDir.resolve(name);
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(host, "unix:mode,rdev");
        } catch (NoSuchFileException e) {
            if (required) {
                throw new GpuIoException("GPU device node " + host + " is missing (is the NVIDIA driver loaded, "
                        + "and nvidia-modprobe or nvidia-persistenced run?)");
            }
            return null;
        } catch (IOException | UnsupportedOperationException e) {
            throw new GpuIoException("cannot stat " + host + ": " + e.getMessage());
        }
        int mode = (Integer) attrs.get("mode");
        if ((mode & S_IFMT) != S_IFCHR) {
            if (required) {
                throw new GpuIoException(host + " is not a character device");
            }
            LOG.log(System.Logger.Level.WARNING, "{0} is not a character device; not passed to containers", host);
            return null;
        }
        long rdev = (Long) attrs.get("rdev");
        return new GpuPassthrough.DeviceNode(host, CONTAINER_DEV.resolve(name), major(rdev), minor(rdev));
    }

    /** glibc's gnu_dev_major. */
    static int major(long dev) {
        return (int) (((dev >>> 8) & 0xfffL) | ((dev >>> 32) & ~0xfffL));
    }

    /** glibc's gnu_dev_minor. */
    static int minor(long dev) {
        return (int) ((dev & 0xffL) | ((dev >>> 12) & ~0xffL));
    }
}
