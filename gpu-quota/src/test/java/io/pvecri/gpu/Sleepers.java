package io.pvecri.gpu;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Real child processes standing in for container processes: {@code sleep} children, each owned
 * by a container id. As {@link ProcessOwner} it maps only live pids, as /proc would.
 */
final class Sleepers implements ProcessOwner, AutoCloseable {

    private final List<Process> processes = new ArrayList<>();
    private final Map<Long, String> owners = new ConcurrentHashMap<>();

    /** Starts a process of container {@code containerId}; returns its pid. */
    long start(String containerId) throws IOException {
        Process p = new ProcessBuilder("sleep", "300").redirectErrorStream(true).start();
        processes.add(p);
        owners.put(p.pid(), containerId);
        return p.pid();
    }

    /** Kills every process of the container (what stopping the container does), and waits. */
    void kill(String containerId) throws InterruptedException {
        for (Process p : processes) {
            if (containerId.equals(owners.get(p.pid()))) {
                p.destroyForcibly();
                p.waitFor();
            }
        }
    }

    boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Override
    public Optional<String> containerOf(long pid) {
        return alive(pid) ? Optional.ofNullable(owners.get(pid)) : Optional.empty();
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroyForcibly();
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
