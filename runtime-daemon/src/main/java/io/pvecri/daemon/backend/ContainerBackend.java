package io.pvecri.daemon.backend;

import io.pvecri.daemon.util.Command;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Runs containers for the daemon. The lxc backend drives LXC on this host; a Proxmox backend
 * will drive the PVE API. Process supervision (exit codes, logs) is the init shim's job, not
 * the backend's: a backend only creates, starts, force-stops, enters and destroys.
 */
public interface ContainerBackend {
    /** Short name for logs and the Version RPC. */
    String name();

    /** Checks the host can run containers; an empty list means ready, else the problems. */
    List<String> readinessProblems();

    /** Writes the container's definition; nothing runs yet. */
    void create(LaunchSpec spec) throws IOException;

    /** Starts the container's init and returns its host PID and that process's start time. */
    InitProcess start(String id) throws IOException;

    /** Kills every process of the container at once (its init included). Idempotent. */
    void forceStop(String id) throws IOException;

    /** Removes the container's definition; the container must be stopped. Idempotent. */
    void destroy(String id) throws IOException;

    /**
     * Runs argv inside the running container, with its namespaces and cgroup: the
     * {@link #attachCommand attach command} with a cleared environment.
     */
    default Command.Result exec(String id, List<String> argv, Duration timeout, int outputLimit) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(attachCommand(id));
        cmd.addAll(List.of("--clear-env", "--"));
        cmd.addAll(argv);
        return Command.run(cmd, timeout, outputLimit, null);
    }

    /** Names of all containers the backend has, running or not. */
    Set<String> list() throws IOException;

    /**
     * The host command prefix that enters the running container ({@code lxc-attach -n NAME -P PATH});
     * the caller appends options and {@code -- argv}. Streaming exec and attach use it.
     */
    List<String> attachCommand(String id);

    /**
     * Stops the container the backend's own graceful way: its stop signal to init, then a kill once
     * {@code timeout} has passed. Returns false when the backend has no such way and the caller signals
     * the shim itself (the default).
     */
    default boolean shutdown(String id, Duration timeout) throws IOException {
        return false;
    }

    /**
     * The container whose LXC container (and cgroup {@code lxc.payload.<name>}) is named {@code lxcName}:
     * the name itself on the lxc backend, a CT's VMID on the proxmox backend.
     */
    default java.util.Optional<String> containerIdOf(String lxcName) {
        return java.util.Optional.of(lxcName);
    }

    /** The image is gone from the cache: drop whatever the backend kept for it. Never throws. */
    default void imageRemoved(String imageId) {
    }

    /** The host PID of a container init and its start time (to detect PID reuse). */
    record InitProcess(long pid, long startMillis) {
        /** True while that very process is alive. */
        public boolean alive() {
            return ProcessHandle.of(pid)
                    .filter(ProcessHandle::isAlive)
                    .flatMap(h -> h.info().startInstant())
                    .map(i -> i.toEpochMilli() == startMillis)
                    .orElse(false);
        }

        public static InitProcess of(long pid) {
            long start = ProcessHandle.of(pid).flatMap(h -> h.info().startInstant()).map(java.time.Instant::toEpochMilli).orElse(0L);
            return new InitProcess(pid, start);
        }
    }
}
