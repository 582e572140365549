package io.pvecri.gpu;

/**
 * Stops a container whose GPU quota policy is {@code stop}. The daemon implements it (stop the
 * LXC container, record {@code reason} in the container status). Called from the sampling
 * thread, at most once per container unless it throws, in which case it is retried on the next
 * sample that is still over the share.
 */
@FunctionalInterface
public interface Stopper {

    /**
     * @param reason one line for the container status, e.g.
     *               {@code GPU quota exceeded: memory 9216 MiB > share 8192 MiB on GPU-… for 3 consecutive samples}
     */
    void stop(String containerId, String reason) throws Exception;

    /** Stops nothing (warn-only nodes, tests). */
    static Stopper none() {
        return (id, reason) -> {
        };
    }
}
