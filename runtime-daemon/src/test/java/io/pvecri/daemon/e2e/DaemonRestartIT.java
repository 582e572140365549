package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ContainerStatus;
import io.pvecri.proto.cri.v1.PodSandboxState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

import static io.pvecri.daemon.e2e.Pods.containerFilter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Containers outlive the daemon (crash or SIGTERM), and a restarted daemon picks up what happened meanwhile. */
class DaemonRestartIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    /** Prints one numbered line a second, for ever. */
    private static final String TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done";

    private final Pods pods = daemon.pods();
    private final Daemon process = daemon.daemon();

    @Test
    void containersSurviveADaemonCrashAndTheRestartedDaemonReportsWhatHappened() throws IOException {
        Pod pod = pods.run("crash");
        String ticker = pod.start(pods.shell("ticker", TICKER));
        String exiter = pod.start(pods.shell("exiter", "sleep 5; exit 7"));
        Path tickerLog = pod.logFile("ticker");
        CriLog.awaitLine(tickerLog, "stdout", "tick 0");
        ContainerStatus tickerBefore = pods.status(ticker);
        assertEquals(ContainerState.CONTAINER_RUNNING, tickerBefore.getState());

        process.kill9();
        long killedAt = nowNanos();

        assertFalse(process.isAlive());
        assertEquals("RUNNING", Host.lxcState(process.lxcPath(), process.lxcName(ticker)).orElse("<unknown>"));
        assertEquals("RUNNING", Host.lxcState(process.lxcPath(), process.lxcName(exiter)).orElse("<unknown>"),
                "the exiter must still run right after the crash (it sleeps 5 s)");
        long sizeAtCrash = Files.size(tickerLog);
        Wait.until("the exiter to stop while the daemon is down", Duration.ofSeconds(30),
                () -> Host.lxcState(process.lxcPath(), process.lxcName(exiter)).map("STOPPED"::equals).orElse(false));
        Wait.until("the ticker's log to grow while the daemon is down", Duration.ofSeconds(10),
                () -> size(tickerLog) > sizeAtCrash);
        long restartedAt = nowNanos();

        process.restart();

        ContainerStatus tickerAfter = pods.status(ticker);
        assertEquals(ContainerState.CONTAINER_RUNNING, tickerAfter.getState());
        assertEquals(tickerBefore.getStartedAt(), tickerAfter.getStartedAt(), "the ticker was never restarted");
        ContainerStatus exited = pods.status(exiter);
        assertEquals(ContainerState.CONTAINER_EXITED, exited.getState());
        assertEquals(7, exited.getExitCode());
        assertTrue(exited.getFinishedAt() >= killedAt && exited.getFinishedAt() <= restartedAt,
                () -> "finished_at " + exited.getFinishedAt() + " is not within the daemon's downtime ["
                        + killedAt + ", " + restartedAt + "]");
        assertEquals(PodSandboxState.SANDBOX_READY, pod.status().getState());
        assertEquals(Set.of(ticker, exiter), pods.containerIds(containerFilter().setPodSandboxId(pod.id())));
        assertTrue(CriLog.lines(tickerLog).stream().allMatch(l -> l.message().startsWith("tick ")),
                "the log is still well-formed CRI lines");
        long sizeAtRestart = Files.size(tickerLog);
        Wait.until("the ticker's log to keep growing after the restart", Duration.ofSeconds(10),
                () -> size(tickerLog) > sizeAtRestart);
    }

    @Test
    void restartedDaemonStillControlsARecoveredContainer() {
        Pod pod = pods.run("control");
        String id = pod.start(pods.sleeper("app"));

        process.kill9();
        process.restart();

        assertEquals("alive\n", pods.execOk(id, "echo", "alive"));
        pods.stop(id, 1);
        assertEquals(ContainerState.CONTAINER_EXITED, pods.status(id).getState());
        assertTrue(Host.lxcInitPid(process.lxcPath(), process.lxcName(id)).isEmpty(), "the LXC container must have stopped");
    }

    @Test
    void gracefulShutdownLeavesContainersRunning() {
        Pod pod = pods.run("graceful");
        String id = pod.start(pods.sleeper("app"));
        long pid = Host.requireInitPid(process.lxcPath(), process.lxcName(id));

        process.stopGracefully();

        assertFalse(process.isAlive());
        assertEquals("RUNNING", Host.lxcState(process.lxcPath(), process.lxcName(id)).orElse("<unknown>"));
        process.restart();
        assertEquals(ContainerState.CONTAINER_RUNNING, pods.status(id).getState());
        assertEquals(pid, Host.requireInitPid(process.lxcPath(), process.lxcName(id)), "the same process runs on");
        assertEquals(PodSandboxState.SANDBOX_READY, pod.status().getState());
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private static long nowNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
