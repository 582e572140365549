package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ReopenContainerLogRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The container log as kubelet uses it: rotation with ReopenContainerLog, and the log directory
 * out of the container's reach (it must not be able to plant a symlink kubelet would follow).
 */
class ContainerLogIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    @Test
    void reopenAfterRotationWritesANewFile() throws Exception {
        Pods pods = daemon.pods();
        Pod pod = pods.run("logs");
        String id = pod.start(pods.shell("ticker", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"));
        Path log = pod.logFile("ticker");
        CriLog.awaitLine(log, "stdout", "tick-2");

        Path rotated = log.resolveSibling(log.getFileName() + ".1");
        Files.move(log, rotated);
        pods.runtime().reopenContainerLog(ReopenContainerLogRequest.newBuilder().setContainerId(id).build());

        Wait.until("the log is recreated after reopen", java.time.Duration.ofSeconds(10), () -> Files.exists(log));
        CriLog.awaitLine(log, "stdout", "tick-" + (lastTick(rotated) + 2));
        assertTrue(CriLog.lines(rotated).size() >= 2, "the rotated file keeps what was written before");
    }

    @Test
    void containerCannotReachTheLogDirectory() throws Exception {
        Pods pods = daemon.pods();
        Pod pod = pods.run("logdir");
        String id = pod.start(pods.shell("quiet", "echo started; sleep 1000"));
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        Path log = pod.logFile("quiet");
        CriLog.awaitLine(log, "stdout", "started");

        String name = log.getFileName().toString();
        assertNotEquals(0, pods.exec(id, "test", "-e", "/.pve-cri/log/" + name).getExitCode(),
                "the kubelet log directory is not visible inside the container");
        assertEquals(0, pods.exec(id, "sh", "-c", "ln -sf /etc/shadow /.pve-cri/log/" + name + " 2>/dev/null; true").getExitCode());
        assertTrue(Files.isRegularFile(log, java.nio.file.LinkOption.NOFOLLOW_LINKS), "the host log file is still a regular file");
    }

    private static int lastTick(Path file) {
        var lines = CriLog.lines(file);
        String msg = lines.getLast().message();
        return Integer.parseInt(msg.substring(msg.indexOf('-') + 1));
    }
}
