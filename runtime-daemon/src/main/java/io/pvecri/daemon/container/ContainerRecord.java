package io.pvecri.daemon.container;

/**
 * A container as persisted under {@code <stateDir>/records/containers/<id>.json}. Times are unix
 * nanoseconds, 0 when not reached yet.
 *
 * @param config    the ContainerConfig exactly as kubelet sent it (protobuf bytes)
 * @param resources the LinuxContainerResources now in force (protobuf bytes; updated by
 *                  UpdateContainerResources)
 * @param logPath   absolute host path of the CRI log, or "" when none was asked for
 */
public record ContainerRecord(String id, String sandboxId, String name, int attempt, String image,
                              String imageId, String imageRef, String logPath, State state,
                              long createdAtNanos, long startedAtNanos, long finishedAtNanos,
                              int exitCode, String reason, String message,
                              long initPid, long initStartMillis, int stopSignal,
                              byte[] config, byte[] resources) {

    public enum State { CREATED, RUNNING, EXITED, UNKNOWN }

    ContainerRecord running(long pid, long startMillis, long startedAt) {
        return new ContainerRecord(id, sandboxId, name, attempt, image, imageId, imageRef, logPath, State.RUNNING,
                createdAtNanos, startedAt, 0, 0, "", "", pid, startMillis, stopSignal, config, resources);
    }

    ContainerRecord exited(long finishedAt, int code, String why, String msg) {
        return new ContainerRecord(id, sandboxId, name, attempt, image, imageId, imageRef, logPath, State.EXITED,
                createdAtNanos, startedAtNanos, finishedAt, code, why, msg, initPid, initStartMillis, stopSignal, config, resources);
    }

    ContainerRecord withResources(byte[] r) {
        return new ContainerRecord(id, sandboxId, name, attempt, image, imageId, imageRef, logPath, state,
                createdAtNanos, startedAtNanos, finishedAtNanos, exitCode, reason, message, initPid, initStartMillis,
                stopSignal, config, r);
    }
}
