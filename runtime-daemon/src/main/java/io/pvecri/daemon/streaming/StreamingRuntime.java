package io.pvecri.daemon.streaming;

import java.nio.file.Path;
import java.util.List;

/**
 * What the streaming server needs from the rest of the daemon: resolving and checking the
 * target of a request, the host command that runs a process inside a container, the shim's
 * attach socket, and a pod's network namespace. {@link LxcStreamingRuntime} is the real one.
 */
public interface StreamingRuntime {
    /** A running container as the streaming server sees it (the CRI config's tty/stdin flags). */
    record Container(String id, boolean tty, boolean stdin, boolean stdinOnce) {}

    /** A ready pod sandbox; {@code netns} is null for a host-network pod. */
    record Pod(String id, Path netns) {}

    /** Resolves an id (or unique prefix); CriException NotFound / FailedPrecondition if not running. */
    Container runningContainer(String idOrPrefix);

    /** Resolves a pod id (or unique prefix); CriException NotFound / FailedPrecondition if not ready. */
    Pod readyPod(String idOrPrefix);

    /** The host argv that runs {@code cmd} inside the container with its namespaces, cgroup, user, env and cwd. */
    List<String> execArgv(Container c, List<String> cmd, boolean tty);

    /** The host path of the container shim's attach socket. */
    Path attachSocket(Container c);

    /** The pve-cri-init binary on the host (its {@code tty-exec} mode starts interactive execs). */
    Path shimBinary();

    /**
     * Whether the exec command switches its terminal to raw mode when it starts, discarding
     * input typed before (lxc-attach does, with TCSAFLUSH): stdin is then held back until it has.
     */
    default boolean execSetsRawTerminal() {
        return false;
    }
}
