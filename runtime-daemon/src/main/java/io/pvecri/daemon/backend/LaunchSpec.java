package io.pvecri.daemon.backend;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything a backend needs to create one container, already validated and resolved to host
 * paths. The process itself (argv, env, user) is described by the shim's spec file in
 * {@code shimDir}; the backend only has to run {@code /.pve-cri/init /.pve-cri/spec} as init.
 *
 * @param id             container id (also the backend's container name)
 * @param hostname       hostname when the UTS namespace is not shared
 * @param imageId        the image's id ({@code sha256:<hex>}), for backends that keep images themselves
 * @param imageRootfs    the unpacked image tree in pve-cri's image store (read-only; also what a
 *                       backend with a storage of its own copies from)
 * @param rootfs         the container's root file system as prepared by the configured rootfs
 *                       format (storage.format): an overlay or a ready directory
 * @param shimDir        host dir mounted at /.pve-cri (init binary, spec, status files)
 * @param logDir         host dir mounted at /.pve-cri/log, or null when the container has no log
 * @param shmDir         host tmpfs mounted at /dev/shm (the pod's), or null
 * @param namespaces     which namespaces are shared with the pod or the host
 * @param mounts         bind mounts requested by the CRI config (kubelet volumes, hosts, ...)
 * @param devices        device nodes passed into the container
 * @param privileged     all devices, writable /proc and /sys
 * @param cgroupLines    backend config lines for resources (already in the backend's syntax)
 * @param meta           who the container is (image, pod, names) and its resources, for backends
 *                       that describe containers in their own terms (Proxmox: template per image,
 *                       tags, description, cores/memory)
 */
public record LaunchSpec(String id, String hostname, String imageId, Path imageRootfs, Rootfs rootfs, Path shimDir, Path logDir,
                         Path shmDir, Namespaces namespaces, List<BindMount> mounts, List<Device> devices,
                         boolean privileged, List<String> cgroupLines, Meta meta) {

    /**
     * @param podId         the sandbox id
     * @param podName       the pod's name
     * @param podNamespace  the pod's namespace
     * @param containerName the container's CRI name
     * @param stopSignal    the signal that asks the main process to stop
     * @param resources     CPU and memory limits as requested (CRI semantics: 0 = unset)
     */
    public record Meta(String podId, String podName, String podNamespace, String containerName,
                       int stopSignal, io.pvecri.daemon.cgroup.Resources resources) {}

    /**
     * What the backend mounts as the container's {@code /}: an overlay of a read-only lower
     * directory and the container's writable upper directory ({@code dir} and {@code raw}
     * formats), or a directory that already is the container's own writable tree (a ZFS clone).
     */
    public sealed interface Rootfs permits Rootfs.Overlay, Rootfs.Directory {
        /** The host directory the container's writes land in (its writable layer). */
        Path writableRoot();

        record Overlay(Path lower, Path upper) implements Rootfs {
            @Override
            public Path writableRoot() {
                return upper;
            }
        }

        record Directory(Path path) implements Rootfs {
            @Override
            public Path writableRoot() {
                return path;
            }
        }
    }

    /** A namespace is either shared from a file (pod-level), the host's, or private to the container. */
    public sealed interface Ns permits Ns.Shared, Ns.Host, Ns.Private {
        record Shared(Path path) implements Ns {}

        record Host() implements Ns {}

        record Private() implements Ns {}
    }

    public record Namespaces(Ns net, Ns ipc, Ns uts, Ns pid) {}

    public enum Propagation { PRIVATE, HOST_TO_CONTAINER, BIDIRECTIONAL }

    public record BindMount(Path hostPath, String containerPath, boolean readonly, Propagation propagation,
                            boolean directory) {}

    public record Device(Path hostPath, String containerPath, char type, long major, long minor, String permissions) {}
}
