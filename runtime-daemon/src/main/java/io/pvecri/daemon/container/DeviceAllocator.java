package io.pvecri.daemon.container;

import io.pvecri.daemon.backend.LaunchSpec;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Hands out host devices that a container asks for through its environment and annotations
 * (GPUs, docs/gpu.md), and takes them back. {@link ContainerManager} calls {@link #allocate} at
 * CreateContainer before it creates anything, adds the {@link Grant} to the container, and calls
 * {@link #release} when the create unwinds and at RemoveContainer. Failures are
 * {@link io.pvecri.daemon.errors.CriException}s with the status the caller should see.
 */
public interface DeviceAllocator {

    /**
     * What a container asks with.
     *
     * @param env         the container config's environment (last value of a repeated key)
     * @param annotations the pod's annotations overlaid with the container's
     */
    record Request(String namespace, String pod, String container, Map<String, String> env,
                   Map<String, String> annotations) {}

    /**
     * What the container gets: device nodes (the backend adds the node and its cgroup allow rule),
     * read-only bind mounts, and environment variables that override the image's and the config's.
     */
    record Grant(List<LaunchSpec.Device> devices, List<LaunchSpec.BindMount> mounts, Map<String, String> env) {
        public Grant {
            devices = List.copyOf(devices);
            mounts = List.copyOf(mounts);
            env = Map.copyOf(env);
        }
    }

    /** The grant for container {@code containerId}; empty when it asks for nothing. */
    Optional<Grant> allocate(String containerId, Request request);

    /** Gives back what {@code containerId} holds; nothing when it holds nothing. Idempotent. */
    void release(String containerId);

    /** Grants nothing: every container runs without extra devices. */
    DeviceAllocator NONE = new DeviceAllocator() {
        @Override
        public Optional<Grant> allocate(String containerId, Request request) {
            return Optional.empty();
        }

        @Override
        public void release(String containerId) {
        }
    };
}
